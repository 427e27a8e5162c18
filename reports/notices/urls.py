from django.urls import path

from . import views

app_name = "notices"

urlpatterns = [
    path("", views.notice_list, name="list"),
    path("preview/", views.notice_preview, name="preview"),
    path("preview/<str:fmt>/", views.draft_download, name="draft_download"),
    path("issue/", views.notice_issue, name="issue"),
    path("settings/", views.notice_settings, name="settings"),
    path("<int:pk>/", views.notice_detail, name="detail"),
    path("<int:pk>/<str:fmt>/", views.notice_download, name="download"),
    path("interviews/", views.interview_list, name="interviews"),
    path("interviews/new/", views.interview_create, name="interview_create"),
    path("interviews/<int:pk>/", views.interview_detail, name="interview"),
    path("interviews/<int:pk>/commitments/", views.commitment_create, name="commitment_create"),
    path("commitments/<int:pk>/", views.commitment_follow_up, name="commitment"),
    path("assessments/", views.assessment_list, name="assessments"),
    path("assessments/preview/", views.assessment_preview, name="assessment_preview"),
    path("assessments/<int:pk>/", views.assessment_detail, name="assessment"),
    path("assessments/<int:pk>/<str:fmt>/", views.assessment_download, name="assessment_download"),
]
