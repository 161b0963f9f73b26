"""Per-client request limits, counted in the cache (Redis in production).

The client is the connecting address. Behind reverse proxies, ``TRUSTED_PROXY_COUNT`` says
how many of them append to ``X-Forwarded-For``; the address that many hops from the right
is the client's. Entries further left are whatever the client sent, so they are ignored:
a spoofed header cannot buy a fresh allowance.
"""

import time

from django.conf import settings
from django.core.cache import cache


def client_ip(request) -> str:
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies > 0:
        hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        hops = [h for h in hops if h]
        if len(hops) >= proxies:
            return hops[-proxies]
    return request.META.get("REMOTE_ADDR", "")


def count(key: str, *, timeout: int) -> int:
    """Add one to the count under ``key`` (started, with ``timeout``, if there is none)."""
    if cache.add(key, 1, timeout=timeout):
        return 1
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=timeout)
        return 1


def over_limit(scope: str, client: str, *, limit: int, window: int = 60) -> bool:
    """Count one request of ``client`` in the current window; True once past ``limit``."""
    bucket = int(time.time() // window)
    return count(f"ratelimit:{scope}:{client}:{bucket}", timeout=window + 5) > limit
