"""CSV exports of scores, KPIs, actions and risks, per alliance and per portfolio."""

alliance_patterns = []
org_patterns = []
api_urlpatterns = []
