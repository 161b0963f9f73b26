"""Signing in, with a cool-off after repeated failures.

Failed sign-ins are counted in the cache per account (the email typed) and per client
address (``ratelimit.client_ip``, so a forged ``X-Forwarded-For`` cannot buy a fresh
count). Past ``LOGIN_FAILURE_LIMIT`` for the account, or ``LOGIN_FAILURE_LIMIT_PER_IP`` for
the address, within ``LOGIN_COOLOFF_SECONDS``, signing in there is refused for that long,
even with the right password, so the password is never tried. A successful sign-in clears
the account's count; never the address's, or one valid account would reset the count of a
guesser working through others.

Django's ``LoginView`` and the admin's login page both go through ``throttled``.
"""

import hashlib
import logging
from functools import wraps

from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.core.cache import cache
from django.shortcuts import render

from .ratelimit import client_ip, count

log = logging.getLogger("concord.audit")


def _keys(request) -> dict[str, str]:
    """The cache keys of the counts a sign-in attempt falls under."""
    keys = {"address": f"login:address:{client_ip(request)}"}
    email = request.POST.get("username", "").strip().lower()
    if email:
        keys["account"] = "login:account:" + hashlib.sha256(email.encode()).hexdigest()
    return keys


def _limit(kind: str) -> int:
    if kind == "account":
        return settings.LOGIN_FAILURE_LIMIT
    return settings.LOGIN_FAILURE_LIMIT_PER_IP


def _locked(keys: dict[str, str]) -> bool:
    return bool(cache.get_many([f"{key}:locked" for key in keys.values()]))


def _count_failure(request, keys: dict[str, str]) -> None:
    """One more failure for the account and the address; past its limit, either is locked
    for the cool-off, and its count starts afresh after it."""
    cooloff = settings.LOGIN_COOLOFF_SECONDS
    for kind, key in keys.items():
        failures = count(key, timeout=cooloff)
        if failures >= _limit(kind):
            cache.set(f"{key}:locked", True, timeout=cooloff)
            cache.delete(key)
            log.warning(
                "sign-in paused for %ss: %s failures for the %s (account %r, address %s)",
                cooloff,
                failures,
                kind,
                request.POST.get("username", "")[:254],
                client_ip(request),
            )


def _refused(request):
    minutes = max(1, round(settings.LOGIN_COOLOFF_SECONDS / 60))
    form = AuthenticationForm(request, initial={"username": request.POST.get("username", "")})
    response = render(
        request,
        "registration/login.html",
        {"form": form, "locked_out_minutes": minutes, "next": request.POST.get("next", "")},
        status=429,
    )
    response["Retry-After"] = str(settings.LOGIN_COOLOFF_SECONDS)
    return response


def throttled(view):
    """Refuse a sign-in while its account or address cools off; count the failures."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.method != "POST":
            return view(request, *args, **kwargs)
        keys = _keys(request)
        if _locked(keys):
            return _refused(request)
        response = view(request, *args, **kwargs)
        if "account" in keys:  # else no password was tried
            # Both login pages answer a sign-in with a redirect, a failure with the form again.
            if response.status_code == 302 and request.user.is_authenticated:
                cache.delete(keys["account"])
            else:
                _count_failure(request, keys)
        return response

    return wrapper


login = throttled(auth_views.LoginView.as_view())
admin_login = throttled(admin.site.login)
