"""The 加法 side's pages (/parks/): see campaign/park_views.py."""

from django.urls import path

from . import park_views

app_name = "parks"

urlpatterns = [
    path("", park_views.park_list, name="list"),
    path("import/", park_views.park_upload, name="upload"),
    path("export.xlsx", park_views.park_export, name="export"),
    path("<int:pk>/", park_views.park_detail, name="detail"),
    path("<int:pk>/edit/", park_views.park_edit, name="edit"),
    path("<int:pk>/photos/<int:photo_pk>.jpg", park_views.park_photo, name="photo"),
    path("land-settings/<slug:slug>/", park_views.land_settings, name="land_settings"),
    path("zero/", park_views.zero_list, name="zero"),
    path("zero/<slug:slug>/<int:township_pk>/", park_views.zero_township, name="zero_township"),
    path("zero/<slug:slug>/<int:township_pk>/<int:village_pk>/", park_views.zero_village, name="zero_village"),
]
