from django.urls import path

from . import views

app_name = "notify"

urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("unread/", views.unread, name="unread"),
    path("<int:pk>/read/", views.read, name="read"),
    path("read-all/", views.read_all, name="read_all"),
    path("preferences/", views.preferences, name="preferences"),
    path("robots/", views.robot_list, name="robots"),
    path("robots/new/", views.robot_edit, name="robot_create"),
    path("robots/<int:pk>/", views.robot_edit, name="robot_edit"),
]
