from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from alliances import login_views

urlpatterns = [
    # Both sign-in pages count failures and cool off (alliances/login_views.py).
    path("accounts/login/", login_views.login, name="login"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/login/", login_views.admin_login),
    path("admin/", admin.site.urls),
    path("api/", include("config.api_urls")),
    path("", include("alliances.urls")),
]

if settings.BENCH_VIEWS:
    from bench import views as bench_views

    urlpatterns.append(path("bench/one-query", bench_views.one_query, name="bench_one_query"))

handler404 = "alliances.api.conventions.not_found"
