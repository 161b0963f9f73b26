"""The REST API: /api/v1/ (each app's resources), the schema and its interactive docs."""

from django.urls import include, path
from django.views.decorators.cache import cache_page
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.permissions import AllowAny

from alliances import webhook_views
from alliances.api import views as alliances_api
from governance import api as governance_api
from scorecards import api as scorecards_api
from scorecards import exports, kpi_api
from scorecards.freshness import code_version
from surveys import api as surveys_api

SCHEMA_CACHE_SECONDS = 24 * 3600

v1 = [
    *alliances_api.urlpatterns,
    *webhook_views.api_urlpatterns,
    *surveys_api.urlpatterns,
    *scorecards_api.urlpatterns,
    *kpi_api.urlpatterns,
    *governance_api.urlpatterns,
    *exports.api_urlpatterns,
]

urlpatterns = [
    path("v1/", include(v1)),
    # The schema and docs are public, like any API's reference; every call in them needs a key.
    # Generating the schema takes half a second, so it is cached; the key holds the code's
    # digest, so a release never serves the last one's schema.
    path(
        "schema/",
        cache_page(SCHEMA_CACHE_SECONDS, key_prefix=f"api-schema-{code_version()}")(
            SpectacularAPIView.as_view(permission_classes=[AllowAny])
        ),
        name="api-schema",
    ),
    path(
        "docs/",
        SpectacularSwaggerSplitView.as_view(url_name="api-schema", permission_classes=[AllowAny]),
        name="api-docs",
    ),
]
