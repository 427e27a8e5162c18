"""Freed land (腾退土地), mounted at /land/: see enterprises/park_views.py."""

from django.urls import path

from . import park_views

app_name = "land"

urlpatterns = [
    path("", park_views.land_list, name="list"),
    path("export.xlsx", park_views.land_export, name="export"),
    path("new/", park_views.land_new, name="new"),
    path("<int:pk>/", park_views.land_detail, name="detail"),
    path("<int:pk>/edit/", park_views.land_edit, name="edit"),
]
