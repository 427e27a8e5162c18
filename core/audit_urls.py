"""The audit pages (city admins): any tracked object's history, and restoring an earlier version.

Included from siwu/urls.py as path("audit/", include("core.audit_urls")).
"""

from django.urls import path

from . import audit_views

app_name = "audit"

urlpatterns = [
    path("", audit_views.audit_index, name="index"),
    path("<str:model>/<int:pk>/", audit_views.object_history, name="object"),
    path("<str:model>/<int:pk>/restore/<int:history_id>/", audit_views.restore, name="restore"),
]
