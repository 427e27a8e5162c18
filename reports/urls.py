from django.urls import path

from . import views

app_name = "reports"

urlpatterns = [
    path("api/progress", views.progress_api, name="progress_api"),
]
