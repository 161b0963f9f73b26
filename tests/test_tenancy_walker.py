"""Every URL of the project, aimed at another tenant's ids, answers 404.

The walker enumerates the URLconf itself, so a view added later is attacked automatically.
A URL kwarg that ``VICTIM_IDS`` does not know fails the suite until someone says how to find
another tenant's id for it; a route outside ``/o/<org>/`` (or the API's
``/api/v1/organizations/<org>/``) fails until it is put there or listed in
``NOT_TENANT_SCOPED`` with a reason. API routes are attacked with every HTTP method; their
``<pk>`` is an id of the model the route's viewset serves (``API_ROWS`` makes one where the
walker's world has none).
"""

import json
import re
from dataclasses import dataclass

import pytest
from django.apps import apps
from django.db import transaction
from django.urls import URLResolver, get_resolver, path

from alliances import services
from alliances.models import (
    Alliance,
    ApiToken,
    GateItem,
    MemberInvitation,
    Membership,
    Organization,
    Role,
    SideOwned,
    TenantModel,
)
from surveys.models import Question
from surveys.services import question_bank_ensure

# Routes (exact, or a prefix when they end in "/") that carry no tenant in the URL.
NOT_TENANT_SCOPED = {
    "": "home only redirects to one of the signed-in user's own organisations",
    "admin/": "Django admin: staff only, outside the tenant model",
    "accounts/": "Django's login, logout and password pages: no tenant data",
    "healthz": "load-balancer health check: reports platform state, no tenant data",
    "livez": "liveness probe: answers ok without touching the database",
    "dev/outbox/": "DEBUG-only outbox for staff: the platform's own mail files",
    "join/<str:token>/": "member invitation: the emailed secret token is the credential",
    "partner/<str:token>/": "partner invitation: the emailed secret token is the credential",
    "calendar/<str:token>.ics": "calendar feed for apps without a session: the token is the key",
    "static/": "static files: public by design",
    "s/": "pulse survey pages: the emailed one-time token (then the session) is the credential",
    "api/schema/": "the API's OpenAPI schema: public reference, no tenant data",
    "api/docs/": "the API's interactive docs: public reference, no tenant data",
}
# Routes allowlisted as they are (not as a prefix, although they end in "/").
NOT_TENANT_SCOPED_EXACT = {
    "api/v1/organizations/": "lists the caller's own memberships, from the session or token",
}
API_METHODS = ("GET", "POST", "PATCH", "PUT", "DELETE")

# At least this many tenant routes exist today; fewer means the walker lost its way.
MIN_TENANT_ROUTES = 25
MIN_API_ROUTES = 60

KWARG = re.compile(r"<(?:[^>:]+:)?(?P<name>[^>]+)>")


def _first_pk(queryset) -> int:
    obj = queryset.order_by("pk").first()
    assert obj is not None, f"the walker's world has no {queryset.model.__name__} to aim at"
    return obj.pk


def _question_bank(organization):
    """The organisation's bank, which an organisation that leads no alliance gets on demand."""
    question_bank_ensure(organization_ids={organization.pk})
    return Question.objects.filter(organization=organization)


def _kpis(alliance):
    """The alliance's KPIs, which an alliance without any gets from the suggested scorecard."""
    from scorecards.kpis import kpi_defaults_seed

    if not alliance.kpis.exists():
        kpi_defaults_seed(alliance=alliance)
    return alliance.kpis.filter(source="manual")


def _alerts(alliance):
    """The alliance's alerts, which an alliance without any gets one of."""
    from datetime import date

    from scorecards.models import Alert

    if not Alert.objects.filter(alliance=alliance).exists():
        Alert.objects.create(
            alliance=alliance,
            metric="relational",
            period_start=date(2026, 1, 1),
            kind="red",
            to_color="red",
            reason=f"{alliance} relational trust turned red.",
        )
    return Alert.objects.filter(alliance=alliance)


def _api_tokens(organization):
    """The organisation's API tokens, which an organisation gets one of (its admin's)."""
    from alliances.api.auth import api_token_create

    if not ApiToken.objects.filter(organization=organization).exists():
        member = Membership.objects.filter(organization=organization).order_by("pk").first()
        api_token_create(membership=member, name="walker")
    return ApiToken.objects.filter(organization=organization)


def _webhook_endpoints(organization):
    """The organisation's webhook endpoints, which an organisation gets one of."""
    from alliances.models import WebhookEndpoint

    if not WebhookEndpoint.objects.filter(organization=organization).exists():
        WebhookEndpoint.objects.create(
            organization=organization,
            url=f"https://hooks.example.com/{organization.slug}",
            events=["alert.raised"],
            secret="whsec_walker",
        )
    return WebhookEndpoint.objects.filter(organization=organization)


def _webhook_delivery(organization, alliance):
    """A ping logged for the organisation's first webhook endpoint."""
    import uuid

    from alliances.models import WebhookDelivery

    endpoint = _webhook_endpoints(organization).order_by("pk").first()
    WebhookDelivery.objects.create(
        endpoint=endpoint, event="ping", event_id=uuid.uuid4(), payload={}
    )


def _scores(organization, alliance):
    from django.utils import timezone

    from scorecards.jobs import score_closed_rounds

    score_closed_rounds(now=timezone.now())


def _kpi_value(organization, alliance):
    from datetime import date

    from scorecards.models import KpiValue

    kpi = _kpis(alliance).order_by("pk").first()
    KpiValue.objects.create(alliance=alliance, kpi=kpi, month=date(2026, 1, 1), value=3)


# API models the walker's world has no row of: how to make one for ``organization``.
API_ROWS = {
    "scorecards.Kpi": lambda organization, alliance: _kpis(alliance),
    "scorecards.KpiValue": _kpi_value,
    "scorecards.RoundHealth": _scores,
    "scorecards.AllianceHealth": _scores,
    "scorecards.Alert": lambda organization, alliance: _alerts(alliance),
    "alliances.WebhookEndpoint": lambda organization, alliance: _webhook_endpoints(organization),
    "alliances.WebhookDelivery": _webhook_delivery,
}

# URL kwarg -> the id of an object of ``organization`` (within ``alliance`` where it applies).
# The rightful user's requests use these ids as they are; an attacker's use them against him.
VICTIM_IDS = {
    "org": lambda organization, alliance: organization.slug,
    "alliance": lambda organization, alliance: alliance.pk,
    "contact": lambda organization, alliance: _first_pk(
        alliance.contacts.filter(side=alliance.side_of(organization))
    ),
    "trigger": lambda organization, alliance: _first_pk(alliance.adaptation_triggers.all()),
    "check": lambda organization, alliance: _first_pk(alliance.gate_checks.all()),
    "member": lambda organization, alliance: _first_pk(
        Membership.objects.filter(organization=organization)
    ),
    "invitation": lambda organization, alliance: _first_pk(
        MemberInvitation.objects.filter(organization=organization)
    ),
    "item": lambda organization, alliance: _first_pk(
        GateItem.objects.filter(organization=organization)
    ),
    "body": lambda organization, alliance: _first_pk(alliance.governance_bodies.all()),
    "meeting": lambda organization, alliance: _first_pk(alliance.meetings.all()),
    "right": lambda organization, alliance: _first_pk(alliance.decision_rights.all()),
    "escalation": lambda organization, alliance: _first_pk(alliance.escalations.all()),
    "action": lambda organization, alliance: _first_pk(
        alliance.action_items.filter(author_organization=organization, visibility="internal")
    ),
    "risk": lambda organization, alliance: _first_pk(
        alliance.risks.filter(author_organization=organization, visibility="internal")
    ),
    "round": lambda organization, alliance: _first_pk(alliance.survey_rounds.all()),
    "question": lambda organization, alliance: _first_pk(_question_bank(organization)),
    "kpi": lambda organization, alliance: _first_pk(_kpis(alliance)),
    "review": lambda organization, alliance: _first_pk(alliance.health_reviews.all()),
    "interview": lambda organization, alliance: _first_pk(
        alliance.review_interviews.filter(author_organization=organization, visibility="internal")
    ),
    "alert": lambda organization, alliance: _first_pk(_alerts(alliance)),
    "token": lambda organization, alliance: _first_pk(_api_tokens(organization)),
    "endpoint": lambda organization, alliance: _first_pk(_webhook_endpoints(organization)),
}

# A body most forms of the project would accept, so a missing tenant check would show as a write.
POST_BODY = {
    "name": "Walker",
    "partner_name": "Walker Partner",
    "model": "complementary",
    "strategic_importance": "3",
    "email": "walker@example.com",
    "function": "sales",
    "is_active": "on",
    "body": "Walker note",
    "visibility": "shared",
    "condition": "Walker condition",
    "note": "Walker note",
    "reason": "Walker reason",
    "override_reason": "Walker reason",
    "to_stage": "1",
    "done": "1",
    "archive": "1",
    "role": "viewer",
    "stage": "1",
    "text": "Walker gate item",
    "corner": "relational",
    "stages": "1",
    "cadence": "quarterly",
    "open_day": "5",
    "window_days": "10",
    "reminder_days": "3, 7",
    "paused": "on",
    "group": "value",
    "source": "manual",
    "unit": "count",
    "direction": "higher",
    "green_from": "10",
    "red_below": "5",
    "month": "2026-01",
    "value": "3",
    "title": "Walker review",
    "kind": "annual",
    "scope": "Walker scope",
    "started_on": "2026-01-05",
    "side": "lead",
    "held_on": "2026-01-06",
    "themes": "walker",
    "notes": "Walker notes",
    "due_on": "2099-01-01",
    "green_from_all": "60",
    "red_below_all": "40",
}


@dataclass(frozen=True)
class Route:
    route: str
    kwargs: tuple[str, ...]
    view: object = None

    @property
    def is_api(self) -> bool:
        return self.route.startswith("api/")

    @property
    def methods(self) -> tuple[str, ...]:
        return API_METHODS if self.is_api else ("GET", "POST")


def walk(patterns=None, prefix: str = ""):
    """Yield the full route and view of every URL pattern, descending into includes."""
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from walk(entry.url_patterns, route)
        else:
            yield route, entry.callback


def allowlisted(route: str) -> bool:
    return route in NOT_TENANT_SCOPED_EXACT or any(
        route == allowed or (allowed.endswith("/") and route.startswith(allowed))
        for allowed in NOT_TENANT_SCOPED
    )


def tenant_routes(patterns=None) -> list[Route]:
    routes = []
    for route, view in walk(patterns):
        if allowlisted(route):
            continue
        names = tuple(match["name"] for match in KWARG.finditer(route))
        assert "org" in names, (
            f"/{route} is not under /o/<org>/. Put it there, or add it to NOT_TENANT_SCOPED "
            "in tests/test_tenancy_walker.py with the reason it holds no tenant data."
        )
        unknown = [name for name in names if name not in VICTIM_IDS and name != "pk"]
        assert not unknown, (
            f"/{route} takes {', '.join(unknown)}, which the tenancy walker cannot fill. "
            "Register each kwarg in VICTIM_IDS in tests/test_tenancy_walker.py: how to find "
            "the id of another tenant's object for it."
        )
        if "pk" in names:
            assert getattr(getattr(view, "cls", None), "model", None) is not None, (
                f"/{route} takes <pk> but its view says no model: the walker cannot aim at it."
            )
        routes.append(Route(route, names, view))
    return routes


def url_for(route: Route, ids: dict) -> str:
    return "/" + KWARG.sub(lambda match: str(ids[match["name"]]), route.route)


def _api_pk(view, organization, alliance) -> int:
    """An id of the model the API view serves, of ``organization`` (in ``alliance`` where the
    model belongs to one): an internal row of theirs where the model has visibility."""
    model = view.cls.model
    if model is Alliance:
        return alliance.pk
    rows = model.objects.visible_to(organization)
    if any(field.name == "alliance" for field in model._meta.get_fields()):
        rows = rows.filter(alliance=alliance)
    if not rows.exists() and model._meta.label in API_ROWS:
        API_ROWS[model._meta.label](organization, alliance)
    if issubclass(model, SideOwned):
        internal = rows.filter(author_organization=organization, visibility="internal")
        rows = internal if internal.exists() else rows
    return _first_pk(rows)


def ids_for(route: Route, organization, alliance) -> dict:
    ids = {name: VICTIM_IDS[name](organization, alliance) for name in route.kwargs if name != "pk"}
    if "pk" in route.kwargs:
        ids["pk"] = _api_pk(route.view, organization, alliance)
    return ids


def send(client, method: str, url: str):
    """One request whose writes are rolled back, so each request meets the same world."""
    api = url.startswith("/api/")
    with transaction.atomic():
        try:
            if method == "GET":
                return client.get(url)
            if api:
                return client.generic(
                    method, url, json.dumps(POST_BODY), content_type="application/json"
                )
            return client.post(url, POST_BODY)
        finally:
            transaction.set_rollback(True)


def _add_health_review(alliance) -> None:
    """A review with a shared and an internal interview of each side."""
    from datetime import date

    from scorecards.models import HealthReview, ReviewInterview

    review = HealthReview.objects.create(
        alliance=alliance, title=f"{alliance} review", scope="All", started_on=date(2026, 1, 5)
    )
    for organization in (alliance.lead_organization, alliance.partner_organization):
        for visibility in ("shared", "internal"):
            ReviewInterview.objects.create(
                alliance=alliance,
                review=review,
                author_organization=organization,
                visibility=visibility,
                function="sales",
                side="lead",
                held_on=date(2026, 1, 6),
                notes=f"{organization} {visibility} interview",
            )


@pytest.fixture
def walker_world(world):
    for alliance in (world.shared, world.litware, world.fabrikam_alliance):
        _add_health_review(alliance)
    for organization, admin in (
        (world.northwind, world.ada),
        (world.contoso, world.ben),
        (world.fabrikam, world.cy),
    ):
        services.member_invite(
            organization=organization,
            email=f"newcomer@{organization.slug}.example",
            role=Role.VIEWER,
            invited_by=admin,
        )
    return world


def _view(request, **kwargs):
    raise AssertionError("never called")


def test_a_new_url_kwarg_fails_until_it_is_registered():
    patterns = [path("o/<slug:org>/widgets/<int:widget>/", _view)]
    with pytest.raises(AssertionError, match="Register each kwarg in VICTIM_IDS"):
        tenant_routes(patterns)


def test_a_new_route_outside_the_organisation_fails_until_it_is_allowlisted():
    with pytest.raises(AssertionError, match="NOT_TENANT_SCOPED"):
        tenant_routes([path("widgets/<int:alliance>/", _view)])
    assert tenant_routes([path("healthz", _view)]) == []


def test_every_url_kwarg_is_registered_and_enough_routes_are_walked():
    routes = tenant_routes()
    assert len(routes) >= MIN_TENANT_ROUTES, [r.route for r in routes]
    assert sum(r.is_api for r in routes) >= MIN_API_ROUTES, [r.route for r in routes]
    assert any(len(r.kwargs) > 2 for r in routes), "no route with ids below an alliance"


@dataclass(frozen=True)
class Attack:
    attacker: str  # a World attribute
    slug: str  # the organisation slug put in the URL
    victim_alliance: str  # the World alliance whose ids (and its lead's) are aimed at
    own_alliance: str = ""  # if set: the attacker's own alliance, with the victim's nested ids

    def __str__(self):
        own = f"-inside-{self.own_alliance}" if self.own_alliance else ""
        return f"{self.attacker}-as-{self.slug}-at-{self.victim_alliance}{own}"


ATTACKS = [
    # (a) The outsider, with his own organisation in the URL and Northwind's ids.
    Attack("cy", "fabrikam", "shared"),
    Attack("cy", "fabrikam", "litware"),
    # (b) The outsider naming Northwind itself.
    Attack("cy", "northwind", "shared"),
    Attack("cy", "northwind", "litware"),
    # The outsider's own alliance, with Northwind's contacts, triggers and gate checks below it.
    Attack("cy", "fabrikam", "litware", own_alliance="fabrikam_alliance"),
    # (c) The partner, at a Northwind alliance Contoso is not a party to.
    Attack("ben", "contoso", "litware"),
    # The partner naming the lead's organisation, even for the alliance they share.
    Attack("ben", "northwind", "shared"),
    Attack("ben", "northwind", "litware"),
    # The partner's own shared alliance, with ids from the lead's other alliance.
    Attack("ben", "contoso", "litware", own_alliance="shared"),
    # A read-only member at home, with Fabrikam's ids: the role check must not answer first.
    Attack("vic", "northwind", "fabrikam_alliance", own_alliance="litware"),
]


@pytest.mark.parametrize("attack", ATTACKS, ids=str)
def test_another_tenants_ids_answer_404(walker_world, client, attack):
    world = walker_world
    victim_alliance = getattr(world, attack.victim_alliance)
    victim = victim_alliance.lead_organization
    client.force_login(getattr(world, attack.attacker))
    attacked, failures = 0, []
    for route in tenant_routes():
        ids = ids_for(route, victim, victim_alliance)
        ids["org"] = attack.slug
        if attack.own_alliance and "alliance" in ids:
            ids["alliance"] = getattr(world, attack.own_alliance).pk
        names_victim_ids = attack.slug == victim.slug or any(
            name != "org" and not (name == "alliance" and attack.own_alliance)
            for name in route.kwargs
        )
        if not names_victim_ids:
            continue  # the attacker's own page
        attacked += 1
        url = url_for(route, ids)
        for method in route.methods:
            try:
                status = send(client, method, url).status_code
            except Exception as error:  # a crash is a finding too; report them all at once
                failures.append(f"{method} {url} raised {error!r}")
                continue
            # A POST-only view refuses a GET before it looks anything up, the same for all.
            # (The API resolves the tenant before the method: there even a 405 would be a leak.)
            if status != 404 and not (method == "GET" and status == 405 and not route.is_api):
                failures.append(f"{method} {url} answered {status}, not 404")
    assert not failures, "\n".join(failures)
    assert attacked >= (MIN_TENANT_ROUTES if attack.slug == victim.slug else 1)


RIGHTFUL = [
    ("ada", "northwind", "litware"),
    ("ada", "northwind", "shared"),
    ("ben", "contoso", "shared"),
]


@pytest.mark.parametrize(("user", "org", "alliance"), RIGHTFUL, ids="-".join)
def test_the_same_urls_work_for_the_rightful_user(walker_world, client, user, org, alliance):
    """The walker is not vacuous: with their own ids, members do not meet a 404."""
    world = walker_world
    organization = Organization.objects.get(slug=org)
    client.force_login(getattr(world, user))
    gettable, failures = 0, []
    routes = tenant_routes()
    for route in routes:
        url = url_for(route, ids_for(route, organization, getattr(world, alliance)))
        for method in route.methods:
            status = send(client, method, url).status_code
            if status == 405:
                continue
            gettable += method == "GET"
            if status == 404 or status >= 500:
                failures.append(f"{method} {url} answered {status}")
    assert not failures, "\n".join(failures)
    assert gettable >= 15, f"only {gettable} of {len(routes)} routes answered a GET"


def test_405_on_get_is_the_same_for_everyone(walker_world, client):
    """The GETs the attacks let through as 405 tell the outsider nothing the owner is not told."""
    world = walker_world
    client.force_login(world.ada)
    own = {}
    for route in tenant_routes():
        if route.is_api:
            continue  # the API answers another tenant's ids 404 for every method (above)
        own[route] = send(
            client, "GET", url_for(route, ids_for(route, world.northwind, world.litware))
        ).status_code
    client.force_login(world.cy)
    for route, status in own.items():
        ids = ids_for(route, world.northwind, world.litware)
        foreign = send(client, "GET", url_for(route, ids)).status_code
        assert (status == 405) == (foreign == 405), route.route


# --- models ---------------------------------------------------------------------------------

# Concrete models that point at an Alliance or Organization and yet are not tenant rows.
NOT_TENANT_MODELS: dict[str, str] = {}


def test_every_model_pointing_at_a_tenant_is_a_tenant_model():
    checked, offenders = [], []
    for model in apps.get_models():
        points_at_tenant = any(
            field.is_relation
            and not field.auto_created
            and field.related_model in (Alliance, Organization)
            for field in model._meta.get_fields()
        )
        if not points_at_tenant:
            continue
        checked.append(model.__name__)
        if not issubclass(model, TenantModel) and model._meta.label not in NOT_TENANT_MODELS:
            offenders.append(model._meta.label)
    assert {"Membership", "Alliance", "Contact", "JournalEntry", "GateItem"} <= set(checked)
    assert not offenders, (
        f"{', '.join(offenders)} point at an Alliance or Organization but do not subclass "
        "alliances.models.TenantModel, so views cannot scope them with visible_to(). "
        "Subclass TenantModel (or AllianceOwned/SideOwned), or add them to NOT_TENANT_MODELS "
        "with a reason."
    )


TENANT_MODELS = [model for model in apps.get_models() if issubclass(model, TenantModel)]


@pytest.mark.parametrize("model", TENANT_MODELS, ids=lambda m: m.__name__)
def test_tenant_models_define_their_filter(model, db):
    assert model.tenant_filter(Organization(pk=1)) is not None
    assert model.objects.visible_to(Organization(pk=1)).count() == 0


@pytest.mark.parametrize("model", TENANT_MODELS, ids=lambda m: m.__name__)
def test_visible_to_without_an_organisation_raises(model, db):
    with pytest.raises(ValueError, match="organisation"):
        model.objects.visible_to(None)
    with pytest.raises(ValueError, match="organisation"):
        model.objects.visible_to(Organization(name="Unsaved"))
    with pytest.raises(ValueError, match="organisation"):
        model.objects.filter(pk__gt=0).visible_to(None)
