from django.conf import settings
from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("api/", include("config.api_urls")),
    path("", include("alliances.urls")),
]

if settings.BENCH_VIEWS:
    from bench import views as bench_views

    urlpatterns.append(path("bench/one-query", bench_views.one_query, name="bench_one_query"))

handler404 = "alliances.api.conventions.not_found"
