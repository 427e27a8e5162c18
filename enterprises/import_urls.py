from django.urls import path

from . import import_views

app_name = "imports"

urlpatterns = [
    path("", import_views.upload, name="upload"),
    path("template.xlsx", import_views.template, name="template"),
    path("history/", import_views.history, name="history"),
    path("<int:pk>/", import_views.preview, name="preview"),
    path("<int:pk>/confirm/", import_views.confirm, name="confirm"),
    path("<int:pk>/file/", import_views.original, name="original"),
]
