"""The project's URLs plus two that fail, for the error pages (tests/ops/test_health.py)."""

from django.db import OperationalError, ProgrammingError
from django.urls import path

from core.access import public
from siwu.urls import handler500, urlpatterns  # noqa: F401 (handler500 is looked up here)


@public
def database_gone(request):
    raise OperationalError("could not connect to server: Connection refused")


@public
def broken(request):
    raise ProgrammingError('relation "nowhere" does not exist')


urlpatterns = [
    *urlpatterns,
    path("test/database-gone/", database_gone),
    path("test/broken/", broken),
]
