"""governance resources of the REST API (see alliances/api/)."""

urlpatterns = []
