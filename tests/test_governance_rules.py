"""Governance rules: cadence and missed meetings, attendance, decision rights, SLA escalation,
conflict figures, action items and risks (services, selectors and the job)."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.management import call_command

from alliances import services as alliance_services
from alliances.models import ContactFunction, Side, Stage, Visibility
from alliances.tenancy import scope_for
from governance import selectors, services
from governance.defaults import DEFAULT_DECISION_RIGHTS
from governance.models import (
    ActionItem,
    ActionStatus,
    Cadence,
    Decision,
    DecisionRight,
    Escalation,
    EscalationMove,
    GovernanceBody,
    GovernanceChange,
    Meeting,
    Risk,
    RiskCategory,
    Rung,
    Tier,
)
from tests.factories import ContactFactory

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def no_world_governance(world):
    """These tests count bodies, rights and escalations: start without the world's."""
    for model in (GovernanceBody, DecisionRight, Escalation, Decision):
        model.objects.all().delete()


@pytest.fixture
def people(world):
    """Two contacts per side on the shared alliance, with managers and sponsors."""
    a = world.shared
    return {
        "lead_mgr": ContactFactory(
            alliance=a, side=Side.LEAD, function=ContactFunction.ALLIANCE_MANAGER
        ),
        "lead_dev": ContactFactory(alliance=a, side=Side.LEAD, function=ContactFunction.DELIVERY),
        "partner_mgr": ContactFactory(
            alliance=a, side=Side.PARTNER, function=ContactFunction.ALLIANCE_MANAGER
        ),
        "partner_sponsor": ContactFactory(
            alliance=a, side=Side.PARTNER, function=ContactFunction.EXECUTIVE_SPONSOR
        ),
    }


def make_body(world, people, tier=Tier.OPERATIONAL_COUNCIL, name="Council", members=None):
    body = GovernanceBody(alliance=world.shared, name=name, tier=tier)
    body.created_at = NOW - timedelta(days=200)
    return services.body_save(
        body=body, members=members if members is not None else list(people.values())
    )


def ada_scope(world):
    return scope_for(world.ada, "northwind")


# --- bodies and meetings --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tier", "cadence"),
    [
        (Tier.EXECUTIVE_STEERING, Cadence.QUARTERLY),
        (Tier.OPERATIONAL_COUNCIL, Cadence.MONTHLY),
        (Tier.WORKING_TEAM, Cadence.WEEKLY),
    ],
)
def test_each_tier_gets_its_default_cadence(world, people, tier, cadence):
    assert make_body(world, people, tier=tier).cadence == cadence


def test_next_due_and_missed_follow_cadence_plus_grace(world, people):
    body = make_body(world, people)  # monthly: 30 days, 7 days' grace
    services.meeting_record(meeting=Meeting(body=body, held_on=date(2026, 9, 1)))
    status = lambda today: selectors.body_statuses(  # noqa: E731
        scope=ada_scope(world), alliance=world.shared, today=today
    )[0]
    assert status(date(2026, 10, 1)).next_due == date(2026, 10, 1)
    assert not status(date(2026, 10, 8)).missed  # within the grace period
    assert status(date(2026, 10, 9)).missed
    services.meeting_record(meeting=Meeting(body=body, held_on=date(2026, 10, 5)))
    assert not status(date(2026, 10, 9)).missed
    assert status(date(2026, 10, 9)).next_due == date(2026, 11, 4)


def test_a_body_that_never_met_counts_from_its_creation(world, people):
    body = make_body(world, people, tier=Tier.WORKING_TEAM)
    created = body.created_at.date()
    statuses = selectors.body_statuses(
        scope=ada_scope(world), alliance=world.shared, today=created + timedelta(days=11)
    )
    assert statuses[0].last_held is None and statuses[0].missed  # 7 days + 3 days' grace
    assert statuses[0].next_due == created + timedelta(days=7)


def test_members_come_from_this_alliances_contacts_only(world, people):
    stranger = ContactFactory(alliance=world.fabrikam_alliance, side=Side.LEAD)
    with pytest.raises(ValidationError) as error:
        make_body(world, people, members=[people["lead_mgr"], stranger])
    assert "contacts of this alliance" in str(error.value)


def test_the_chair_is_a_member_and_names_are_unique(world, people):
    body = GovernanceBody(alliance=world.shared, name="Steering", tier=Tier.EXECUTIVE_STEERING)
    body = services.body_save(body=body, members=[], chair=people["partner_sponsor"])
    assert list(body.members.all()) == [people["partner_sponsor"]]
    with pytest.raises(ValidationError) as error:
        services.body_save(
            body=GovernanceBody(alliance=world.shared, name="steering", tier=Tier.WORKING_TEAM)
        )
    assert "already has a body" in str(error.value)


def test_attendance_is_not_a_member_refused(world, people):
    body = make_body(world, people, members=[people["lead_mgr"], people["partner_mgr"]])
    with pytest.raises(ValidationError) as error:
        services.meeting_record(
            meeting=Meeting(body=body, held_on=date(2026, 10, 1)), attendees=[people["lead_dev"]]
        )
    assert "Not members" in str(error.value)


def test_attendance_rate_per_body_and_side(world, people):
    body = make_body(world, people)  # 2 lead + 2 partner members
    lead_mgr, lead_dev = people["lead_mgr"], people["lead_dev"]
    partner_mgr = people["partner_mgr"]
    services.meeting_record(
        meeting=Meeting(body=body, held_on=date(2026, 9, 1)),
        attendees=[lead_mgr, lead_dev, partner_mgr],
    )
    services.meeting_record(
        meeting=Meeting(body=body, held_on=date(2026, 10, 1)), attendees=[lead_mgr]
    )
    rates = selectors.attendance(scope=ada_scope(world), alliance=world.shared)[body.pk]
    assert (rates[Side.LEAD].attended, rates[Side.LEAD].expected) == (3, 4)
    assert (rates[Side.PARTNER].attended, rates[Side.PARTNER].expected) == (1, 4)
    assert rates["all"].rate == pytest.approx(4 / 8)


def test_attendance_and_status_queries_do_not_grow_with_meetings(
    world, people, django_assert_max_num_queries
):
    body = make_body(world, people)
    for month in range(1, 13):
        services.meeting_record(
            meeting=Meeting(body=body, held_on=date(2025, month, 3)),
            attendees=[people["lead_mgr"]],
        )
    scope = ada_scope(world)
    with django_assert_max_num_queries(4):
        selectors.attendance(scope=scope, alliance=world.shared)
    with django_assert_max_num_queries(1):
        selectors.body_statuses(scope=scope, alliance=world.shared, today=date(2026, 1, 1))


# --- decision rights ------------------------------------------------------------------------


def test_entering_governance_gives_the_default_matrix_once(world):
    alliance = world.litware
    assert not alliance.decision_rights.exists()
    for check in alliance.gate_checks.filter(stage=Stage.FORMATION):
        alliance_services.gate_check_set(check=check, done=True, user=world.ada)
    alliance_services.stage_advance(
        alliance=alliance, user=world.ada, organization=world.northwind, note="Ready."
    )
    rows = {r.decision_type: r for r in alliance.decision_rights.all()}
    assert set(rows) == {
        "Roadmap changes", "Commercial terms", "Data sharing", "Delivery trade-offs",
        "Alliance health warnings",
    }  # fmt: skip
    assert (rows["Roadmap changes"].sla_days, rows["Roadmap changes"].escalation_rung) == (
        10,
        Rung.STEERING_COMMITTEE,
    )
    assert rows["Delivery trade-offs"].escalation_rung == Rung.ALLIANCE_MANAGERS
    assert services.decision_rights_seed(alliance=alliance) == 0
    assert alliance.decision_rights.count() == len(DEFAULT_DECISION_RIGHTS)


def test_decision_rights_are_validated_and_every_change_is_kept(world):
    services.decision_rights_seed(alliance=world.shared)
    right = world.shared.decision_rights.get(decision_type="Commercial terms")
    right.sla_days = 0
    with pytest.raises(ValidationError) as error:
        services.decision_right_save(right=right, user=world.ben, organization=world.contoso)
    assert "sla_days" in error.value.message_dict
    right.sla_days = 12
    services.decision_right_save(right=right, user=world.ben, organization=world.contoso)
    change = GovernanceChange.objects.get(subject="decision right", object_id=right.pk)
    assert change.by_user == world.ben and "SLA 12 days" in change.summary
    duplicate = DecisionRight(
        alliance=world.shared, decision_type="commercial TERMS", owner="x", forum="y", sla_days=3
    )
    with pytest.raises(ValidationError) as error:
        services.decision_right_save(right=duplicate, user=world.ada, organization=world.northwind)
    assert "already has this decision type" in str(error.value)


# --- escalations ----------------------------------------------------------------------------


def raise_escalation(world, right=None, rung=Rung.WORKING_LEADS, now=NOW):
    return services.escalation_raise(
        escalation=Escalation(
            alliance=world.shared, title="Pricing dispute", decision_right=right, rung=rung
        ),
        user=world.ada,
        organization=world.northwind,
        now=now,
    )


def test_the_sla_comes_from_the_matching_decision_right_or_the_default(world, settings):
    services.decision_rights_seed(alliance=world.shared)
    right = world.shared.decision_rights.get(decision_type="Data sharing")
    assert raise_escalation(world, right).due_at == NOW + timedelta(days=20)
    settings.ESCALATION_DEFAULT_SLA_DAYS = 6
    assert raise_escalation(world).due_at == NOW + timedelta(days=6)
    foreign = DecisionRight.objects.create(
        alliance=world.fabrikam_alliance, decision_type="X", owner="o", forum="f", sla_days=2
    )
    with pytest.raises(ValidationError):
        raise_escalation(world, foreign)


def test_past_its_sla_an_escalation_moves_one_rung_up_once(
    world, people, django_capture_on_commit_callbacks
):
    escalation = raise_escalation(world)  # default SLA 10 days
    later = NOW + timedelta(days=11)
    with django_capture_on_commit_callbacks(execute=True):
        first = services.escalations_move_overdue(now=later)
        second = services.escalations_move_overdue(now=later)
    assert len(first) == 1 and second == []
    escalation.refresh_from_db()
    assert escalation.rung == Rung.ALLIANCE_MANAGERS
    assert escalation.due_at == later + timedelta(days=10)
    move = EscalationMove.objects.get(escalation=escalation)
    assert (move.from_rung, move.to_rung, move.at) == (1, 2, later)
    history = GovernanceChange.objects.filter(subject="escalation", object_id=escalation.pk)
    assert history.filter(summary__contains="up to Alliance managers").count() == 1
    # The alliance managers of both sides are told, one email each.
    recipients = sorted(m.to[0] for m in mail.outbox)
    assert recipients == sorted([people["lead_mgr"].email, people["partner_mgr"].email])
    assert "Pricing dispute" in mail.outbox[0].subject


def test_the_job_walks_the_ladder_to_the_top_and_stops(world, people):
    escalation = raise_escalation(world)
    moment = NOW
    for expected in (2, 3, 4, 4):
        moment += timedelta(days=11)
        services.escalations_move_overdue(now=moment)
        escalation.refresh_from_db()
        assert escalation.rung == expected
    assert escalation.moves.count() == 3
    assert escalation.is_overdue(now=moment + timedelta(days=11))


def test_resolved_escalations_stay_put_and_need_a_note(world, people):
    escalation = raise_escalation(world)
    with pytest.raises(ValidationError):
        services.escalation_resolve(
            escalation=escalation, resolution=" ", user=world.ada, organization=world.northwind
        )
    services.escalation_resolve(
        escalation=escalation,
        resolution="Agreed a joint price list.",
        user=world.ben,
        organization=world.contoso,
        now=NOW + timedelta(days=3),
    )
    assert services.escalations_move_overdue(now=NOW + timedelta(days=30)) == []
    with pytest.raises(ValidationError):
        services.escalation_resolve(
            escalation=escalation, resolution="Again", user=world.ada, organization=world.northwind
        )


def test_run_jobs_at_a_later_now_moves_the_escalation(world, people):
    escalation = raise_escalation(world)
    call_command("run_jobs", "--now", "2026-11-20T09:00")
    escalation.refresh_from_db()
    assert escalation.rung == Rung.ALLIANCE_MANAGERS
    call_command("run_jobs", "--now", "2026-11-20T09:00")
    assert escalation.moves.count() == 1


def test_conflict_count_and_mean_resolution_per_quarter(world):
    quarter_1 = datetime(2026, 1, 10, tzinfo=UTC)
    first = raise_escalation(world, now=quarter_1)
    raise_escalation(world, now=quarter_1 + timedelta(days=5))  # still open
    services.escalation_resolve(
        escalation=first,
        resolution="Done",
        user=world.ada,
        organization=world.northwind,
        now=quarter_1 + timedelta(days=4),
    )
    third = raise_escalation(world, now=datetime(2026, 4, 2, tzinfo=UTC))
    services.escalation_resolve(
        escalation=third,
        resolution="Done",
        user=world.ada,
        organization=world.northwind,
        now=datetime(2026, 4, 4, tzinfo=UTC),
    )
    stats = selectors.conflict_stats(scope=ada_scope(world), alliance=world.shared)
    assert [(s.quarter, s.raised, s.resolved) for s in stats] == [
        (date(2026, 1, 1), 2, 1),
        (date(2026, 4, 1), 1, 1),
    ]
    assert stats[0].mean_resolution == timedelta(days=4)
    assert stats[1].mean_resolution == timedelta(days=2)


# --- action items and risks -------------------------------------------------------------------


def new_action(world, owner, **fields):
    fields.setdefault("due_on", date.today() + timedelta(days=7))
    return ActionItem(
        alliance=world.shared,
        author_organization=world.northwind,
        title="Send the joint price list",
        owner=owner,
        **fields,
    )


def test_a_past_due_date_needs_confirmation(world, people):
    past = new_action(world, people["lead_mgr"], due_on=date.today() - timedelta(days=1))
    with pytest.raises(ValidationError) as error:
        services.action_save(action=past, user=world.ada)
    assert "in the past" in str(error.value)
    action = services.action_save(action=past, user=world.ada, allow_past_due=True)
    assert action.is_overdue()


def test_the_owner_must_be_a_contact_of_the_alliance_and_of_the_side_for_internal(world, people):
    stranger = ContactFactory(alliance=world.fabrikam_alliance)
    with pytest.raises(ValidationError):
        services.action_save(action=new_action(world, stranger), user=world.ada)
    internal = new_action(world, people["partner_mgr"], visibility=Visibility.INTERNAL)
    with pytest.raises(ValidationError) as error:
        services.action_save(action=internal, user=world.ada)
    assert "your own side" in str(error.value)


def test_completing_an_action_stamps_it(world, people):
    action = services.action_save(action=new_action(world, people["lead_mgr"]), user=world.ada)
    assert action.completed_at is None and action.is_open
    action.status = ActionStatus.DONE
    services.action_save(action=action, user=world.ada)
    assert action.completed_at is not None and not action.is_overdue()


def test_risk_scales_score_and_internal_history(world, people):
    risk = Risk(
        alliance=world.shared,
        author_organization=world.northwind,
        visibility=Visibility.INTERNAL,
        title="Contoso may build its own planner",
        category=RiskCategory.STRATEGIC_DRIFT,
        likelihood=6,
        impact=3,
    )
    with pytest.raises(ValidationError) as error:
        services.risk_save(risk=risk, user=world.ada, organization=world.northwind)
    assert "likelihood" in error.value.message_dict
    risk.likelihood = 4
    services.risk_save(risk=risk, user=world.ada, organization=world.northwind)
    assert risk.score == 12
    contoso = scope_for(world.ben, "contoso")
    assert not contoso.rows(Risk).filter(pk=risk.pk).exists()
    assert not contoso.rows(GovernanceChange).filter(subject="risk", object_id=risk.pk).exists()
    assert ada_scope(world).rows(GovernanceChange).filter(object_id=risk.pk).count() == 1
