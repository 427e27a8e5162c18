"""The project's URLs plus a few test views, for the access middleware tests."""

from django.http import HttpResponse
from django.urls import path

from core.access import ALL_ROLES, CITY_ADMIN_ONLY, allow, public
from siwu.urls import urlpatterns as project_urls


def undeclared(request):
    return HttpResponse("这一页忘了声明权限")


@allow(get=ALL_ROLES)
def readable(request):
    return HttpResponse("readable")


@allow(get=CITY_ADMIN_ONLY, post=CITY_ADMIN_ONLY)
def admin_only(request):
    return HttpResponse("admin only")


@public
def open_page(request):
    return HttpResponse("open")


urlpatterns = [
    path("test/undeclared/", undeclared, name="undeclared"),
    path("test/readable/", readable, name="readable"),
    path("test/admin-only/", admin_only, name="admin_only"),
    path("test/open/", open_page, name="open"),
    *project_urls,
]
