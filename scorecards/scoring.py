"""Materialising scores: a closed round's answers become ``RoundHealth`` and ``CornerScore``.

Set-based: each kind of row is one ``INSERT … SELECT`` over the answers of every round being
recomputed (the ``SELECT`` is built by the ORM, so it is valid SQL on SQLite and
PostgreSQL), after one ``DELETE`` of the old rows, in one transaction. Recomputing one round
or every round of every alliance is the same handful of queries. The anonymity rules then
blank the scores of side and function cells that must not be shown (one read of the cell
sizes, one update), so dashboards can read stored scores without re-applying them.
"""

from collections import defaultdict
from datetime import datetime

from django.db import connection, transaction
from django.db.models import (
    Avg,
    Case,
    Count,
    ExpressionWrapper,
    F,
    FloatField,
    Q,
    Value,
    When,
)
from django.db.models.functions import Cast

from surveys.anonymity import MIN_CELL, hidden_cells
from surveys.models import Answer, QuestionKind, SurveyRound
from surveys.selectors import with_counts

from .models import CornerScore, Metric, RoundHealth, View

# One answer as a 0–100 score: the trust anchor v·10, a Likert answer (v−1)·25 (DESIGN §6).
POINTS = Case(
    When(kind=QuestionKind.TRUST, then=Cast("value", FloatField()) * 10.0),
    default=(Cast("value", FloatField()) - 1.0) * 25.0,
    output_field=FloatField(),
)
METRIC = Case(
    When(kind=QuestionKind.TRUST, then=Value(Metric.TRUST.value)),
    default=F("corner"),
)
LOW_CONFIDENCE_RATE = 50  # percent
# Each table's columns, paired with the name of the SELECT's field that fills it: the
# one list both the INSERT and the SELECT are built from, so they cannot drift apart.
SCORE_COLUMNS = [
    ("round_id", "round_id"),
    ("alliance_id", "alliance_id"),
    ("metric", "metric"),
    ("view", "view_"),
    ("function", "function_"),
    ("score", "score"),
    ("responses", "responses"),
    ("mean_square", "mean_square"),
    ("computed_at", "computed_at"),
]
HEALTH_COLUMNS = [
    ("round_id", "pk"),
    ("alliance_id", "alliance_id"),
    ("period_start", "period_start"),
    ("opens_at", "opens_at"),
    ("stage", "stage"),
    ("invited", "invited"),
    ("invited_lead", "invited_lead"),
    ("invited_partner", "invited_partner"),
    ("responded", "responded"),
    ("responded_lead", "responded_lead"),
    ("responded_partner", "responded_partner"),
    ("response_rate", "rate"),
    ("low_confidence", "low"),
    ("computed_at", "computed"),
]


def _insert_select(model, columns: list[tuple[str, str]], queryset) -> None:
    """``INSERT INTO model (columns) <the queryset's SELECT>``: one statement."""
    selected = queryset.values_list(*(field for _, field in columns)).order_by()
    sql, params = selected.query.sql_with_params()
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quote(model._meta.db_table)} "  # noqa: S608 - names, not data
            f"({', '.join(quote(column) for column, _ in columns)}) {sql}",
            params,
        )


def _score_cells(rounds, *, view: str, group: str | None, now: datetime):
    """The SELECT of one kind of cell: everyone (``group`` None), per side or per function."""
    groups = ["round_id", "metric"] + ([group] if group else [])
    return (
        Answer.objects.filter(round__in=rounds)
        .annotate(metric=METRIC)
        .values(*groups)
        .annotate(
            alliance_id=F("round__alliance_id"),
            view_=F("side") if view == "side" else Value(view),
            function_=F("function") if group == "function" else Value(""),
            score=Avg(POINTS),
            responses=Count("response_id", distinct=True),
            mean_square=Avg(ExpressionWrapper(POINTS * POINTS, output_field=FloatField())),
            computed_at=Value(now),
        )
    )


def _health_rows(rounds, *, now: datetime):
    counted = with_counts(SurveyRound.objects.filter(pk__in=rounds))
    rate = Case(
        When(invited=0, then=Value(None, output_field=FloatField())),
        default=ExpressionWrapper(
            Cast("responded", FloatField()) * 100.0 / Cast("invited", FloatField()),
            output_field=FloatField(),
        ),
    )
    return counted.annotate(rate=rate).annotate(
        low=Case(
            When(
                Q(responded__lt=MIN_CELL) | Q(rate__lt=LOW_CONFIDENCE_RATE),
                then=Value(True),
            ),
            default=Value(False),
        ),
        computed=Value(now),
    )


def _blank_hidden_cells(rounds) -> int:
    """Apply the anonymity rules to the stored side and function cells: the score of a cell
    that must not be shown is blanked (its size stays). Returns how many were blanked."""
    partitions: dict[tuple, dict[str, tuple[int, int]]] = defaultdict(dict)
    cells = CornerScore.objects.filter(round__in=rounds).exclude(view=View.ALL)
    for pk, round_id, metric, view, function, responses in cells.values_list(
        "pk", "round_id", "metric", "view", "function", "responses"
    ):
        kind = View.FUNCTION if view == View.FUNCTION else "side"
        partitions[(round_id, metric, kind)][function or view] = (pk, responses)
    blank = []
    for partition in partitions.values():
        hidden = hidden_cells({key: n for key, (_, n) in partition.items()})
        blank += [partition[key][0] for key in hidden]
    if blank:
        CornerScore.objects.filter(pk__in=blank).update(score=None, mean_square=None)
    return len(blank)


def scores_recompute(*, now: datetime, round_ids=None, alliance_ids=None) -> int:
    """(Re)materialise the scores of closed rounds: those named, those of the alliances
    named, or all. Idempotent; returns how many rounds were computed."""
    rounds = SurveyRound.objects.filter(closed_at__isnull=False)
    if round_ids is not None:
        rounds = rounds.filter(pk__in=round_ids)
    if alliance_ids is not None:
        rounds = rounds.filter(alliance_id__in=alliance_ids)
    round_ids = list(rounds.values_list("pk", flat=True))
    if not round_ids:
        return 0
    with transaction.atomic():
        # Serialise concurrent recomputes of the same rounds (PostgreSQL; SQLite writes are
        # serial anyway), so two runs never insert the same cells twice.
        list(SurveyRound.objects.select_for_update().filter(pk__in=round_ids).values("pk"))
        CornerScore.objects.filter(round_id__in=round_ids).delete()
        RoundHealth.objects.filter(round_id__in=round_ids).delete()
        _insert_select(RoundHealth, HEALTH_COLUMNS, _health_rows(round_ids, now=now))
        _insert_select(
            CornerScore, SCORE_COLUMNS, _score_cells(round_ids, view=View.ALL, group=None, now=now)
        )
        _insert_select(
            CornerScore, SCORE_COLUMNS, _score_cells(round_ids, view="side", group="side", now=now)
        )
        _insert_select(
            CornerScore,
            SCORE_COLUMNS,
            _score_cells(round_ids, view=View.FUNCTION, group="function", now=now),
        )
        _blank_hidden_cells(round_ids)
    return len(round_ids)
