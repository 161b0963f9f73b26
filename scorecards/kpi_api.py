"""KPIs, KPI values and health reviews in the REST API (see alliances/api/)."""

urlpatterns = []
