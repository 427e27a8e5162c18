"""The management pages (/manage/), city admins only (see campaign/views.py), and the indicators' pages
(campaign/indicator_views.py), whose records township staff keep for their own township."""

from django.urls import path

from . import indicator_views, views

app_name = "manage"

urlpatterns = [
    path("", views.manage_index, name="index"),
    path("users/", views.user_list, name="users"),
    path("users/new/", views.user_create, name="user_create"),
    path("users/<int:pk>/", views.user_edit, name="user_edit"),
    path("users/<int:pk>/password/", views.user_password, name="user_password"),
    path("users/<int:pk>/active/", views.user_active, name="user_active"),
    path("users/<int:pk>/unlock/", views.user_unlock, name="user_unlock"),
    path("townships/", views.township_list, name="townships"),
    path("townships/new/", views.township_create, name="township_create"),
    path("townships/<int:pk>/", views.township_edit, name="township_edit"),
    path("townships/<int:pk>/villages/new/", views.village_create, name="village_create"),
    path("villages/<int:pk>/", views.village_edit, name="village_edit"),
    path("campaigns/", views.campaign_list, name="campaigns"),
    path("campaigns/new/", views.campaign_new, name="campaign_create"),
    path("campaigns/<slug:slug>/", views.campaign_edit, name="campaign_edit"),
    path("campaigns/<slug:slug>/milestones/", views.milestone_edit, name="milestones"),
    path("campaigns/<slug:slug>/targets/", views.target_list, name="targets"),
    path("campaigns/<slug:slug>/targets/new/", views.target_add, name="target_add"),
    # Indicators (SPEC 5): campaign/indicator_views.py
    path("campaigns/<slug:slug>/indicators/", indicator_views.indicator_list, name="indicators"),
    path("campaigns/<slug:slug>/indicators/new/", indicator_views.indicator_create, name="indicator_create"),
    path("campaigns/<slug:slug>/scoring/", indicator_views.scoring_edit, name="indicator_scoring"),
    path("campaigns/<slug:slug>/indicators/<slug:key>/edit/", indicator_views.indicator_edit, name="indicator_edit"),
    path(
        "campaigns/<slug:slug>/indicators/<slug:key>/targets/",
        indicator_views.indicator_targets,
        name="indicator_targets",
    ),
    path(
        "campaigns/<slug:slug>/indicators/<slug:key>/targets/new/",
        indicator_views.indicator_target_add,
        name="indicator_target_add",
    ),
    path("indicator-records/", indicator_views.records_home, name="records_home"),
    path(
        "campaigns/<slug:slug>/indicators/<slug:key>/records/",
        indicator_views.record_list,
        name="indicator_records",
    ),
    path(
        "campaigns/<slug:slug>/indicators/<slug:key>/records/new/",
        indicator_views.record_add,
        name="indicator_record_add",
    ),
    path(
        "campaigns/<slug:slug>/indicators/<slug:key>/records/import/",
        indicator_views.record_import,
        name="indicator_import",
    ),
    path(
        "campaigns/<slug:slug>/indicators/<slug:key>/records/import/confirm/",
        indicator_views.record_import_confirm,
        name="indicator_import_confirm",
    ),
    path("indicator-records/<int:pk>/", indicator_views.record_edit, name="indicator_record_edit"),
]
