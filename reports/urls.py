from django.urls import path

from . import views

app_name = "reports"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("home/", views.home, name="home"),
    path("home/badges", views.badges, name="badges"),
    path("townships/<int:pk>/", views.township, name="township"),
    path("api/progress", views.progress_api, name="progress_api"),
    path("api/scorecard", views.scorecard_api, name="scorecard_api"),
]
