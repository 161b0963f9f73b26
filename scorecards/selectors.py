"""Health reads for lists of alliances: a constant number of queries for any number."""

from collections import defaultdict

from django.db.models import OuterRef, Subquery

from .models import Light, RoundHealth, View
from .models.health import CORNER_METRICS


def latest_corner_lights(*, alliance_ids) -> dict[int, list[Light | None]]:
    """Each alliance's four corner lights (everyone's view) of its latest scored round, in
    corner order; one query. Alliances without a scored round get no entry."""
    latest_round = (
        RoundHealth.objects.filter(alliance=OuterRef("alliance"))
        .order_by("-opens_at")
        .values("round_id")[:1]
    )
    by_alliance: dict[int, dict[str, Light]] = defaultdict(dict)
    for light in Light.objects.filter(
        alliance_id__in=alliance_ids,
        view=View.ALL,
        metric__in=CORNER_METRICS,
        round_id=Subquery(latest_round),
    ):
        by_alliance[light.alliance_id][light.metric] = light
    return {
        alliance_id: [lights.get(metric) for metric in CORNER_METRICS]
        for alliance_id, lights in by_alliance.items()
    }
