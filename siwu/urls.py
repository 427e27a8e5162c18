"""Every view here and in the included apps declares who may use it (core/access.py); the
access middleware refuses the ones that do not. Django's own views are declared by wrapping."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.i18n import set_language

from campaign import views
from core import ops
from core.access import declared, public

urlpatterns = [
    path("accounts/login/", declared(public, auth_views.LoginView.as_view()), name="login"),
    path("accounts/logout/", declared(public, auth_views.LogoutView.as_view()), name="logout"),
    path("accounts/password/", views.password_change, name="password_change"),
    path("i18n/setlang/", declared(public, set_language), name="set_language"),
    # For load balancers and monitoring: 200 when the database answers, 503 when it does not.
    path("health/", ops.health, name="health"),
    path("admin/", admin.site.urls),
    path("manage/", include("campaign.manage_urls")),
    path("audit/", include("core.audit_urls")),
    path("units/", include("enterprises.urls")),
    path("inspections/", include("inspections.urls")),
    path("imports/", include("enterprises.import_urls")),
    path("parks/", include("campaign.park_urls")),
    path("parks/", include("enterprises.park_urls")),
    path("land/", include("enterprises.land_urls")),
    path("exports/", include("reports.export_urls")),
    path("notices/", include("reports.notices.urls")),
    path("notify/", include("notify.urls")),
    path("map/", include("reports.map_urls")),
    path("", include("fieldsync.urls")),
    path("", include("reports.urls")),
]

# Rendered without the database: a 503 page when the database is unreachable, else the 500 page.
handler500 = "core.ops.server_error"
