"""Pages that htmx also asks for in part (a filter, a range link swaps only the results)."""

from django.shortcuts import render
from django.utils.cache import patch_vary_headers


def page_or_fragment(request, template: str, fragment: str, context: dict, **kwargs):
    """Render ``template``, or only its ``{% partialdef fragment %}`` when htmx swaps that
    part in place. A boosted link and htmx restoring "back" from the server want the whole
    page. The response varies on ``HX-Request``: caches must not mix the two up."""
    if wants_fragment(request):
        template = f"{template}#{fragment}"
    response = render(request, template, context, **kwargs)
    patch_vary_headers(response, ["HX-Request"])
    return response


def wants_fragment(request) -> bool:
    htmx = request.htmx
    return bool(htmx and not htmx.boosted and not htmx.history_restore_request)
