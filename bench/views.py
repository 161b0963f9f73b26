"""Reference views for ``make bench``, mounted only when ``settings.BENCH_VIEWS`` is on."""

from django.http import HttpResponse
from django.views.decorators.cache import never_cache

from alliances.models import Alliance


@never_cache
def one_query(request):
    """Exactly one SQL query and no session: what the simplest page that reads the database
    costs on this server, the yardstick the real pages are measured against."""
    return HttpResponse(str(Alliance.objects.count()), content_type="text/plain")
