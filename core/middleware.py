"""Deny by default: every view must declare who may use it (core.access.allow / public).

The middleware runs once the URL is resolved, before the view: a view that declared nothing is
refused (403, and an error in the log, so a new page cannot ship open); an anonymous visitor of a
non-public view is sent to the login page; a role the declaration does not name gets the Chinese
403 page, and the refusal is logged. Object-level rules (own township only) are not decided here:
they are the scoped querysets of core.access, which answer 404.

Exempt: the Django admin site, which checks ``is_staff`` itself, and static/media file serving.
"""

import logging

from django.contrib.auth.views import redirect_to_login
from django.contrib.staticfiles.views import serve as staticfiles_serve
from django.http import HttpResponseNotAllowed
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.static import serve as static_serve

from .access import PUBLIC, allowed_methods, log_denial, policy_of, role_of

logger = logging.getLogger("siwu.access")

EXEMPT_VIEWS = (static_serve, staticfiles_serve)
EXEMPT_NAMESPACES = ("admin",)


def forbidden(request, message):
    return render(request, "403.html", {"message": message}, status=403)


class AccessPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        match = request.resolver_match
        if view_func in EXEMPT_VIEWS or (match and match.namespaces[:1] and match.namespaces[0] in EXEMPT_NAMESPACES):
            return None
        policy = policy_of(view_func)
        if policy is None:
            logger.error(
                "view %s.%s (%s) declares no access policy: refused",
                view_func.__module__,
                getattr(view_func, "__qualname__", view_func),
                match.view_name if match else request.path,
            )
            return forbidden(request, _("此页面尚未设置访问权限，已拒绝访问。"))
        if policy == PUBLIC:
            return None
        roles = policy.get(request.method)
        if not roles:
            return HttpResponseNotAllowed(allowed_methods(view_func))
        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        role = role_of(user)
        if role in roles:
            return None
        log_denial(user, "role not allowed", path=request.get_full_path())
        if role is None:
            return forbidden(request, _("您的账号尚未分配角色，请联系市级管理员。"))
        return forbidden(request, _("您的角色（%(role)s）无权使用此功能。") % {"role": role.label})
