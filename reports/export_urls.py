from django.urls import path

from . import export_views

app_name = "report_exports"

urlpatterns = [
    path("progress.<str:fmt>", export_views.progress_export, name="progress"),
    path("ledger/<int:township_pk>.<str:fmt>", export_views.ledger_export, name="ledger"),
]
