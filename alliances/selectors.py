"""Reads. Every function takes a scope, so it cannot forget the tenant."""

from dataclasses import dataclass

from django.db.models import Count, F, Q, QuerySet

from .models import (
    VALUE_THESIS_FIELDS,
    Alliance,
    AllianceModel,
    ContactFunction,
    FitCriterion,
    JournalEntry,
    LessonsLearned,
    PartnerFitScore,
    Side,
    Stage,
    StageTransition,
)
from .tenancy import ALLIANCE_RELATED, AllianceScope, Scope


@dataclass(frozen=True)
class AllianceFilters:
    status: str = "active"  # active | archived | all
    stage: int | None = None
    model: str = ""
    query: str = ""

    @classmethod
    def from_querydict(cls, params) -> "AllianceFilters":
        stage = params.get("stage", "")
        return cls(
            status=params.get("status")
            if params.get("status") in {"archived", "all"}
            else "active",
            stage=int(stage) if stage.isdigit() and int(stage) in Stage.values else None,
            model=params.get("model") if params.get("model") in AllianceModel.values else "",
            # PostgreSQL refuses NUL characters in a query, so they cannot reach one.
            query=params.get("q", "").replace("\x00", "").strip()[:100],
        )


def alliance_list(*, scope: Scope, filters: AllianceFilters = AllianceFilters()) -> QuerySet:
    alliances = scope.rows(Alliance).select_related(*ALLIANCE_RELATED)
    if filters.status == "active":
        alliances = alliances.filter(archived_at__isnull=True)
    elif filters.status == "archived":
        alliances = alliances.filter(archived_at__isnull=False)
    if filters.stage:
        alliances = alliances.filter(stage=filters.stage)
    if filters.model:
        alliances = alliances.filter(model=filters.model)
    if filters.query:
        alliances = alliances.filter(
            Q(name__icontains=filters.query)
            | Q(partner_name__icontains=filters.query)
            | Q(lead_organization__name__icontains=filters.query)
        )
    return alliances.annotate(
        gate_total=Count("gate_checks", filter=Q(gate_checks__stage=F("stage")), distinct=True),
        gate_done=Count(
            "gate_checks",
            filter=Q(gate_checks__stage=F("stage"), gate_checks__done_at__isnull=False),
            distinct=True,
        ),
        contact_count=Count("contacts", filter=Q(contacts__is_active=True), distinct=True),
    ).order_by("stage", "name")


def stage_counts(*, scope: Scope) -> dict[int, int]:
    rows = (
        scope.rows(Alliance)
        .filter(archived_at__isnull=True)
        .values("stage")
        .annotate(n=Count("pk"))
        .order_by()
    )
    counts = {row["stage"]: row["n"] for row in rows}
    return {stage: counts.get(stage, 0) for stage in Stage.values}


@dataclass
class AllianceOverview:
    alliance: Alliance
    contacts: dict[str, list]
    gate_checks: list
    triggers: list
    fit_scores: list
    transitions: list
    journal: list
    pending_invitation: object | None
    lessons: object | None

    fit_max = 5 * len(FitCriterion.values)

    @property
    def fit_total(self) -> int | None:
        return sum(s.score for s in self.fit_scores) if self.fit_scores else None

    @property
    def fit_weakest(self):
        return min(self.fit_scores, key=lambda s: (s.score, s.criterion), default=None)

    @property
    def gate_done(self) -> int:
        return sum(1 for check in self.gate_checks if check.is_done)

    def _people(self, function: str) -> dict[str, list]:
        return {
            side: [c for c in contacts if c.function == function and c.is_active]
            for side, contacts in self.contacts.items()
        }

    @property
    def sponsors(self) -> dict[str, list]:
        return self._people(ContactFunction.EXECUTIVE_SPONSOR)

    @property
    def managers(self) -> dict[str, list]:
        return self._people(ContactFunction.ALLIANCE_MANAGER)

    @property
    def thesis(self) -> list[tuple[str, str]]:
        return [
            (Alliance._meta.get_field(name).verbose_name.capitalize(), getattr(self.alliance, name))
            for name in VALUE_THESIS_FIELDS
            if name != "purpose"
        ]


def alliance_overview(*, here: AllianceScope) -> AllianceOverview:
    alliance, scope = here.alliance, here.scope
    contacts = {Side.LEAD: [], Side.PARTNER: []}
    for contact in scope.rows(alliance.contacts.all()):
        contacts[contact.side].append(contact)
    pending = None
    if here.is_lead and not alliance.partner_organization_id:
        pending = next(
            (i for i in scope.rows(alliance.partner_invitations.all()) if i.is_pending), None
        )
    return AllianceOverview(
        alliance=alliance,
        contacts=contacts,
        gate_checks=list(
            scope.rows(alliance.gate_checks.filter(stage=alliance.stage)).select_related("done_by")
        ),
        triggers=list(scope.rows(alliance.adaptation_triggers.all()).select_related("fired_by")),
        fit_scores=list(scope.rows(PartnerFitScore.objects.filter(alliance=alliance))),
        transitions=list(
            scope.rows(StageTransition.objects.filter(alliance=alliance)).select_related(
                "by_user", "by_organization"
            )
        ),
        journal=list(
            scope.rows(JournalEntry.objects.filter(alliance=alliance)).select_related(
                "author", "author_organization"
            )[:50]
        ),
        pending_invitation=pending,
        lessons=scope.rows(LessonsLearned.objects.filter(alliance=alliance)).first(),
    )
