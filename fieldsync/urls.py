"""Included at the site's root (siwu/urls.py): the service worker must be served from "/" to control
every page, and the manifest beside it."""

from django.urls import path

from . import views

app_name = "fieldsync"

urlpatterns = [
    path("sw.js", views.service_worker, name="sw"),
    path("manifest.webmanifest", views.manifest, name="manifest"),
    path("fieldsync/queue/", views.queue, name="queue"),
    path("fieldsync/offline/", views.offline, name="offline"),
    path("fieldsync/session/", views.session, name="session"),
]
