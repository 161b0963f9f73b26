"""Pulse survey reads for managers: rounds with response rates, and a closed round's results
under the anonymity rules. Nothing here says who was invited or who answered."""

from dataclasses import dataclass, field

from django.db.models import Avg, Count, IntegerField, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce

from alliances.models import Contact, ContactFunction, Side

from .anonymity import MIN_CELL, POOL_ROUNDS, hidden_cells, pooled_hidden_cells, total_shown
from .models import (
    Answer,
    Corner,
    Question,
    QuestionKind,
    Response,
    SurveyInvitation,
    SurveyRound,
)
from .services import PARTICIPANT

BENCHMARK_RATE = 80  # percent: the response rate a healthy alliance reaches


def _count(queryset, **filters):
    """A correlated COUNT subquery (no join fan-out between invitations and responses)."""
    rows = (
        queryset.filter(round=OuterRef("pk"), **filters)
        .order_by()
        .values("round")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(rows, output_field=IntegerField()), 0)


def with_counts(rounds):
    """Rounds annotated with invitations and responses, overall and per side."""
    return rounds.annotate(
        invited=_count(SurveyInvitation.objects),
        invited_lead=_count(SurveyInvitation.objects, side=Side.LEAD),
        invited_partner=_count(SurveyInvitation.objects, side=Side.PARTNER),
        responded=_count(Response.objects),
        responded_lead=_count(Response.objects, side=Side.LEAD),
        responded_partner=_count(Response.objects, side=Side.PARTNER),
        emails_failed=_count(SurveyInvitation.objects, failed_at__isnull=False),
        emails_unsent=_count(
            SurveyInvitation.objects, sent_at__isnull=True, failed_at__isnull=True
        ),
    )


def rate(responded: int, invited: int) -> int | None:
    return round(100 * responded / invited) if invited else None


def rounds_for(*, scope, alliance):
    return with_counts(scope.rows(SurveyRound.objects.filter(alliance=alliance))).order_by(
        "-opens_at", "-pk"
    )


# --- results -------------------------------------------------------------------------------------


def likert_score(mean: float | None) -> float | None:
    """1–5 → 0–100."""
    return None if mean is None else (mean - 1) / 4 * 100


def trust_score(mean: float | None) -> float | None:
    """0–10 → 0–100."""
    return None if mean is None else mean * 10


@dataclass
class Cell:
    key: str
    label: str
    responses: int
    hidden: bool
    scores: dict[str, float | None] = field(default_factory=dict)  # corner → 0–100
    trust: float | None = None

    @property
    def corner_scores(self) -> list[float | None]:
        return [self.scores.get(corner) for corner in Corner.values]


@dataclass
class Breakdown:
    title: str
    cells: list[Cell]
    pooled_over: list[SurveyRound]  # empty unless pooled, oldest first
    pool_pending: bool = False  # thin cells will show pooled when this round's block closes

    @property
    def pooled_label(self) -> str:
        if not self.pooled_over:
            return ""
        first, last = self.pooled_over[0], self.pooled_over[-1]
        return f"Pooled over {len(self.pooled_over)} rounds ({first.label} to {last.label})"


def _cells(rounds: list[SurveyRound], dimension: str) -> dict[str, Cell]:
    """One query for the responses per cell, one for the mean of each corner per cell."""
    labels = dict(Side.choices if dimension == "side" else ContactFunction.choices)
    counts = dict(
        Response.objects.filter(round__in=rounds)
        .values_list(dimension)
        .annotate(n=Count("pk"))
        .order_by()
    )
    cells = {key: Cell(key, labels.get(key, key), n, hidden=False) for key, n in counts.items()}
    means = (
        Answer.objects.filter(round__in=rounds, value__isnull=False)
        .values_list(dimension, "kind", "corner")
        .annotate(mean=Avg("value"))
        .order_by()
    )
    for key, kind, corner, mean in means:
        cell = cells.get(key)
        if cell is None:
            continue
        if kind == QuestionKind.TRUST:
            cell.trust = trust_score(mean)
        else:
            cell.scores[corner] = likert_score(mean)
    return cells


def _hide(cells: dict[str, Cell], hidden: set[str]) -> dict[str, Cell]:
    for key, cell in cells.items():
        cell.hidden = key in hidden
        if cell.hidden:
            cell.scores, cell.trust = {}, None
    return cells


def _counts(cells: dict[str, Cell]) -> dict[str, int]:
    return {key: cell.responses for key, cell in cells.items()}


def pool_block(survey_round: SurveyRound) -> tuple[list[SurveyRound], bool]:
    """The fixed block of rounds (oldest first) the round's thin cells are pooled over, and
    whether the block is complete: the round is its last and every round in it closed."""
    rounds = list(
        SurveyRound.objects.filter(alliance_id=survey_round.alliance_id).order_by("opens_at", "pk")
    )
    index = next(i for i, r in enumerate(rounds) if r.pk == survey_round.pk)
    start = index - index % POOL_ROUNDS
    block = rounds[start : start + POOL_ROUNDS]
    complete = (
        len(block) == POOL_ROUNDS
        and block[-1].pk == survey_round.pk
        and all(r.closed_at is not None for r in block)
    )
    return block, complete


def breakdown(
    survey_round: SurveyRound, dimension: str, *, block: list[SurveyRound], complete: bool
) -> Breakdown:
    """The round's responses split by ``side`` or ``function`` under the anonymity rules.

    Where the round alone hides cells and it completes its block of rounds, the split is
    pooled over the block, labelled, if that hides fewer (see ``surveys.anonymity``).
    """
    title = "By side" if dimension == "side" else "By function"
    cells = _cells([survey_round], dimension)
    hidden = hidden_cells(_counts(cells))
    best = Breakdown(title, list(_hide(cells, hidden).values()), [])
    if hidden and complete:
        per_round: dict[int, dict[str, int]] = {r.pk: {} for r in block}
        for round_id, key, n in (
            Response.objects.filter(round__in=block)
            .values_list("round_id", dimension)
            .annotate(n=Count("pk"))
            .order_by()
        ):
            per_round[round_id][key] = n
        pooled = _cells(block, dimension)
        pooled_hidden = pooled_hidden_cells(list(per_round.values()))
        if len(pooled_hidden) < len(hidden):
            best = Breakdown(title, list(_hide(pooled, pooled_hidden).values()), block)
    elif hidden:
        best.pool_pending = len(block) < POOL_ROUNDS or block[-1].pk != survey_round.pk
    order = [key for key, _ in (Side.choices if dimension == "side" else ContactFunction.choices)]
    best.cells.sort(key=lambda cell: order.index(cell.key) if cell.key in order else 99)
    return best


@dataclass
class ItemResult:
    position: int
    text: str
    corner: str
    is_trust: bool
    counts: list[tuple[str, int]]  # (value label, responses), in scale order
    not_applicable: int
    score: float | None

    @property
    def answered(self) -> int:
        return sum(n for _, n in self.counts)

    @property
    def bars(self) -> list[tuple[str, int, int]]:
        """(label, count, percent of answers) for a bar chart."""
        total = self.answered or 1
        return [(label, n, round(100 * n / total)) for label, n in self.counts]


LIKERT_LABELS = {
    1: "Strongly disagree",
    2: "Disagree",
    3: "Neither",
    4: "Agree",
    5: "Strongly agree",
}


def item_results(survey_round: SurveyRound) -> list[ItemResult]:
    """Each question's distribution over all responses: two queries."""
    counts: dict[int, dict[int | None, int]] = {}
    for question_id, value, n in (
        Answer.objects.filter(round=survey_round)
        .values_list("question_id", "value")
        .annotate(n=Count("pk"))
        .order_by()
    ):
        counts.setdefault(question_id, {})[value] = n
    results = []
    for question in survey_round.questions.all():
        values = counts.get(question.pk, {})
        scale = range(0, 11) if question.is_trust else range(1, 6)
        answered = {v: values.get(v, 0) for v in scale}
        total = sum(answered.values())
        mean = sum(v * n for v, n in answered.items()) / total if total else None
        results.append(
            ItemResult(
                position=question.position,
                text=question.text,
                corner=question.corner,
                is_trust=question.is_trust,
                counts=[
                    (str(v) if question.is_trust else LIKERT_LABELS[v], answered[v]) for v in scale
                ],
                not_applicable=values.get(None, 0),
                score=trust_score(mean) if question.is_trust else likert_score(mean),
            )
        )
    return results


@dataclass
class RoundResults:
    round: SurveyRound
    responses: int
    shown: bool  # enough responses for anything but counts
    overall: Cell | None
    items: list[ItemResult]
    by_side: Breakdown | None
    by_function: Breakdown | None
    comments: list[str]
    minimum: int = MIN_CELL


def round_results(survey_round: SurveyRound) -> RoundResults:
    """A closed round's results, as managers of either side see them."""
    responses = Response.objects.filter(round=survey_round).count()
    if not total_shown(responses):
        return RoundResults(survey_round, responses, False, None, [], None, None, [])
    block, complete = pool_block(survey_round)
    overall = _overall(survey_round, responses)
    comments = list(
        Response.objects.filter(round=survey_round)
        .exclude(comment="")
        .order_by("pk")  # random (UUID) order: says nothing about who answered when
        .values_list("comment", flat=True)
    )
    return RoundResults(
        round=survey_round,
        responses=responses,
        shown=True,
        overall=overall,
        items=item_results(survey_round),
        by_side=breakdown(survey_round, "side", block=block, complete=complete),
        by_function=breakdown(survey_round, "function", block=block, complete=complete),
        comments=comments,
    )


def _overall(survey_round: SurveyRound, responses: int) -> Cell:
    cell = Cell("all", "Everyone", responses, hidden=False)
    for kind, corner, mean in (
        Answer.objects.filter(round=survey_round, value__isnull=False)
        .values_list("kind", "corner")
        .annotate(mean=Avg("value"))
        .order_by()
    ):
        if kind == QuestionKind.TRUST:
            cell.trust = trust_score(mean)
        else:
            cell.scores[corner] = likert_score(mean)
    return cell


# --- the managers' pages -------------------------------------------------------------------------


@dataclass(frozen=True)
class Rate:
    """Responses against invitations for one group of a round."""

    label: str
    responded: int
    invited: int

    @property
    def percent(self) -> int | None:
        return rate(self.responded, self.invited)

    @property
    def meets_benchmark(self) -> bool:
        return self.percent is not None and self.percent >= BENCHMARK_RATE


def round_rates(survey_round: SurveyRound, alliance) -> list[Rate]:
    """Everyone, then each side by its name, from a round annotated by ``with_counts``."""
    return [
        Rate("Everyone", survey_round.responded, survey_round.invited),
        Rate(
            alliance.party_name(Side.LEAD), survey_round.responded_lead, survey_round.invited_lead
        ),
        Rate(
            alliance.party_name(Side.PARTNER),
            survey_round.responded_partner,
            survey_round.invited_partner,
        ),
    ]


@dataclass(frozen=True)
class Participation:
    label: str
    taking_part: int = 0
    not_surveyed: int = 0
    unsubscribed: int = 0
    email_failed: int = 0


def pulse_participation(*, scope, alliance) -> list[Participation]:
    """Per side: how many active contacts are invited to rounds, and why the others are not.
    One query."""
    counts = {
        row["side"]: row
        for row in scope.rows(Contact.objects.filter(alliance=alliance, is_active=True))
        .values("side")
        .annotate(
            taking_part=Count("pk", filter=PARTICIPANT),
            not_surveyed=Count("pk", filter=Q(takes_pulse=False)),
            unsubscribed=Count("pk", filter=Q(pulse_unsubscribed_at__isnull=False)),
            email_failed=Count("pk", filter=Q(email_failed_at__isnull=False)),
        )
        .order_by()
    }
    return [
        Participation(
            alliance.party_name(side),
            **{k: v for k, v in counts.get(side, {}).items() if k != "side"},
        )
        for side in Side.values
    ]


def failed_contacts(*, scope, alliance):
    """Active contacts whose address failed for good, so managers can correct it."""
    return scope.rows(
        Contact.objects.filter(alliance=alliance, is_active=True, email_failed_at__isnull=False)
    ).order_by("side", "name")


def question_bank(*, scope):
    """The organisation's items, each with how many rounds asked it. One query."""
    return (
        scope.rows(Question.objects.filter(organization=scope.organization))
        .annotate(rounds=Count("asked"))
        .order_by("corner", "pk")
    )
