"""Survey URLs: the public answer pages under /s/ (mounted at the top level) and the
managers' pages, mounted under an alliance and under an organisation by alliances/urls.py."""

from .views import manage, public

public_patterns = public.patterns
alliance_patterns = manage.alliance_patterns
org_patterns = manage.org_patterns
