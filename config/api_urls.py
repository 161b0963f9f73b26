"""The REST API: /api/v1/ (each app's resources), the schema and its interactive docs."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.permissions import AllowAny

from alliances import webhook_views
from alliances.api import views as alliances_api
from governance import api as governance_api
from scorecards import api as scorecards_api
from scorecards import exports, kpi_api
from surveys import api as surveys_api

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
    path("schema/", SpectacularAPIView.as_view(permission_classes=[AllowAny]), name="api-schema"),
    path(
        "docs/",
        SpectacularSwaggerSplitView.as_view(url_name="api-schema", permission_classes=[AllowAny]),
        name="api-docs",
    ),
]
