from django.urls import path

from . import map_views

app_name = "maps"

urlpatterns = [
    path("", map_views.map_page, name="page"),
    path("data.json", map_views.map_data, name="data"),
    path("outlines.json", map_views.map_outlines, name="outlines"),
]
