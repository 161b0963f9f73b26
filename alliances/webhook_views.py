"""Webhook endpoints: the admins' settings page, and the same in the REST API."""

org_patterns = []
api_urlpatterns = []
