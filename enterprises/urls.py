from django.urls import path

from . import views

app_name = "enterprises"

urlpatterns = [
    path("", views.unit_list, name="list"),
    path("export.xlsx", views.unit_export, name="export"),
    path("export.csv", views.unit_export, {"fmt": "csv"}, name="export_csv"),
    path("new/", views.unit_create, name="create"),
    path("deleted/", views.deleted_list, name="deleted"),
    path("<int:pk>/", views.unit_detail, name="detail"),
    path("<int:pk>/contact/", views.unit_contact, name="contact"),
    path("<int:pk>/edit/", views.unit_edit, name="edit"),
    path("<int:pk>/rectify/", views.unit_rectify, name="rectify"),
    path("<int:pk>/relapse/", views.unit_relapse, name="relapse"),
    path("<int:pk>/delete/", views.unit_delete_view, name="delete"),
    path("<int:pk>/undelete/", views.unit_undelete_view, name="undelete"),
    path("<int:pk>/<str:kind>/<int:event_pk>/withdraw/", views.event_withdraw_view, name="withdraw"),
    path("<int:pk>/<str:kind>/<int:event_pk>/reinstate/", views.event_reinstate_view, name="reinstate"),
    path("<int:pk>/photos/<int:photo_pk>.jpg", views.rectification_photo, name="photo"),
]
