from django.urls import path

from . import unit_search, views

app_name = "inspections"

urlpatterns = [
    path("", views.inspection_list, name="list"),
    path("new/", views.inspection_create, name="create"),
    path("<int:pk>/", views.inspection_detail, name="detail"),
    path("<int:pk>/photos/<int:photo_pk>.jpg", views.inspection_photo, name="photo"),
    path("<int:pk>/follow-up/", views.follow_up, name="follow_up"),
    path("<int:pk>/findings/new/", views.finding_create, name="finding_create"),
    path("findings/", views.finding_list, name="findings"),
    path("findings/<int:pk>/", views.finding_detail, name="finding"),
    path("findings/<int:pk>/rectified/", views.finding_rectified, name="finding_rectified"),
    path("findings/<int:pk>/verify/", views.finding_verify, name="finding_verify"),
    path("findings/<int:pk>/photos/<int:photo_pk>.jpg", views.finding_photo, name="finding_photo"),
    path("rounds/", views.round_list, name="rounds"),
    path("rounds/new/", views.round_create, name="round_create"),
    path("rounds/<int:pk>/", views.round_detail, name="round"),
    path("cross/<int:pk>/units/", views.cross_units, name="cross_units"),
    path("cross/<int:pk>/units/<int:unit_pk>/", views.cross_unit, name="cross_unit"),
    path("lookbacks/", views.lookback_list, name="lookbacks"),
    path("lookbacks/<int:pk>/", views.lookback_detail, name="lookback"),
    path("lookbacks/<int:pk>/photos/<int:photo_pk>.jpg", views.lookback_photo, name="lookback_photo"),
    path("lookbacks/schedule/", views.lookback_schedule, name="schedule"),
    path("draws/new/", views.draw_create, name="draw_create"),
    path("draws/<int:pk>/", views.draw_detail, name="draw"),
    path("units/<int:pk>/clearance/", views.clearance, name="clearance"),
    path("units/search/", unit_search.unit_search, name="unit_search"),
    path("units/find/", unit_search.unit_find, name="unit_find"),
    path("reconciliations/", views.reconciliation_list, name="reconciliations"),
    path("reconciliations/new/", views.reconciliation_open, name="reconciliation_open"),
    path("reconciliations/<int:pk>/", views.reconciliation_detail, name="reconciliation"),
    path("reconciliations/<int:pk>/dispute/", views.reconciliation_dispute, name="reconciliation_dispute"),
    path("reconciliations/<int:pk>/confirm/", views.reconciliation_confirm, name="reconciliation_confirm"),
    path("reconciliations/items/<int:pk>/resolve/", views.reconciliation_resolve, name="reconciliation_resolve"),
    path("quality/", views.quality, name="quality"),
    path("settings/<slug:slug>/", views.quality_settings, name="settings"),
]
