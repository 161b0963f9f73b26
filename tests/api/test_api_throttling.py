"""Each token has its own request budget; over it, a 429 with Retry-After, in the usual body."""

from django.core.cache import cache

from alliances.api.conventions import ClientRateThrottle
from alliances.models import ApiToken

from .conftest import v1


def _forget(token):
    throttle = ClientRateThrottle()
    cache.delete(throttle.cache_format % {"scope": throttle.scope, "ident": f"token:{token.pk}"})


def test_a_token_over_its_budget_gets_429_and_another_token_does_not(world, api_for, settings):
    settings.API_RATE_LIMIT = "3/minute"
    first = api_for(world.ada, world.northwind)
    second = api_for(world.ada, world.northwind)  # the same person's other token
    for token in ApiToken.objects.all():
        _forget(token)
    url = v1("organizations/northwind/alliances/")
    assert [first.get(url).status_code for _ in range(3)] == [200, 200, 200]
    limited = first.get(url)
    assert limited.status_code == 429
    assert int(limited["Retry-After"]) > 0
    body = limited.json()
    assert body["status"] == 429 and body["code"] == "throttled" and "seconds" in body["detail"]
    assert second.get(url).status_code == 200
