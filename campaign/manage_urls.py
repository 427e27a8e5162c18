"""The management pages (/manage/), city admins only: see campaign/views.py."""

from django.urls import path

from . import views

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
]
