from django.urls import path

from . import views

app_name = "enterprises"

urlpatterns = [
    path("", views.unit_list, name="list"),
    path("export.xlsx", views.unit_export, name="export"),
    path("new/", views.unit_create, name="create"),
    path("<int:pk>/", views.unit_detail, name="detail"),
    path("<int:pk>/edit/", views.unit_edit, name="edit"),
    path("<int:pk>/rectify/", views.unit_rectify, name="rectify"),
    path("<int:pk>/relapse/", views.unit_relapse, name="relapse"),
    path("<int:pk>/photos/<int:photo_pk>.jpg", views.rectification_photo, name="photo"),
]
