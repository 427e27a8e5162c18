"""Entries into parks written by hand (mounted beside campaign.park_urls at /parks/): see
enterprises/park_views.py."""

from django.urls import path

from . import park_views

app_name = "park_entries"

urlpatterns = [
    path("<int:pk>/entries/add/", park_views.entry_add, name="add"),
    path("entries/<int:pk>/", park_views.entry_detail, name="detail"),
    path("<int:pk>/stage-photos/", park_views.park_stage_photos, name="stage_photos"),
]
