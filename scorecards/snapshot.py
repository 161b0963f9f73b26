"""The portfolio's read model: each live alliance's health at its latest scored round.

``store`` is called by the threshold check, in the transaction that stores the lights, with
the histories and lights it has just computed: so the snapshot costs no extra reads, and is
never ahead of or behind the lights it summarises.
"""

from datetime import datetime

from alliances.models import Alliance

from .lights import Color
from .models import AllianceHealth, Metric, View
from .models.health import CORNER_METRICS
from .rules import LightDraft, RoundFacts

# Rounds in an alliance's stored trend (the portfolio's sparkline).
TREND_ROUNDS = 12
CORNER_FIELDS = {
    Metric.STRATEGIC: "strategic",
    Metric.OPERATIONAL: "operational",
    Metric.RELATIONAL: "relational",
    Metric.VALUE: "value",
}


def round_score(facts: RoundFacts) -> float | None:
    """One number for a round: the mean of the corner scores that can be judged."""
    scores = [s for m in CORNER_METRICS if (s := facts.score(m)) is not None]
    return round(sum(scores) / len(scores), 1) if scores else None


def health_row(
    alliance: Alliance, history: list[RoundFacts], drafts: list[LightDraft], *, now: datetime
) -> AllianceHealth:
    """The snapshot of an alliance whose latest round is ``history[-1]``, lit as ``drafts``."""
    latest = history[-1]
    overall = {d.metric: d for d in drafts if d.view == View.ALL}
    colors = {m: overall[m].color if m in overall else Color.GREY for m in CORNER_METRICS}
    score = round_score(latest)
    before = round_score(history[-2]) if len(history) > 1 else None
    health = latest.health
    return AllianceHealth(
        alliance=alliance,
        round_id=latest.round_id,
        period_start=latest.period_start,
        **{CORNER_FIELDS[m]: colors[m] for m in CORNER_METRICS},
        worst=max(Color(c).rank for c in colors.values()),
        score=score,
        change=None if score is None or before is None else round(score - before, 1),
        trend=[[f.period_start.isoformat(), round_score(f)] for f in history[-TREND_ROUNDS:]],
        response_rate=health.response_rate if health else None,
        low_confidence=bool(health and health.low_confidence),
        divergence=Metric.ALLIANCE in overall and "divergence" in overall[Metric.ALLIANCE].rules,
        updated_at=now,
    )


def store(
    alliances: list[Alliance],
    histories: dict[int, list[RoundFacts]],
    lights: dict[tuple[int, int], list[LightDraft]],
    *,
    now: datetime,
) -> int:
    """Upsert the snapshots of ``alliances`` (two queries); an alliance with no scored round
    has none."""
    rows = [
        health_row(a, histories[a.pk], lights[(a.pk, histories[a.pk][-1].round_id)], now=now)
        for a in alliances
        if histories[a.pk]
    ]
    AllianceHealth.objects.filter(
        alliance__in=[a.pk for a in alliances if not histories[a.pk]]
    ).delete()
    fields = [f.name for f in AllianceHealth._meta.concrete_fields if not f.primary_key]
    AllianceHealth.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["alliance"],
        update_fields=fields,
        batch_size=1000,
    )
    return len(rows)
