"""A fired adaptation trigger opens a steering-rung escalation and a review action."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from alliances import services
from alliances.models import ContactFunction, Side
from alliances.tenancy import scope_for
from governance.models import ActionItem, ActionSource, Escalation, Rung
from governance.services import default_sla_days
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db


def fire_url(alliance, trigger, org="northwind"):
    return f"/o/{org}/alliances/{alliance.pk}/triggers/{trigger.pk}/fire/"


def trigger_of(alliance):
    return alliance.adaptation_triggers.get()


def fired_escalations(alliance):
    return Escalation.objects.filter(alliance=alliance, title__startswith="Adaptation trigger")


def test_firing_opens_a_steering_escalation_with_sla_and_a_review_action(world, client_for):
    alliance = world.shared
    manager = ContactFactory(
        alliance=alliance,
        side=Side.LEAD,
        name="Dev Manager",
        function=ContactFunction.ALLIANCE_MANAGER,
    )
    ContactFactory(alliance=alliance, side=Side.PARTNER, function=ContactFunction.ALLIANCE_MANAGER)
    trigger = trigger_of(alliance)

    response = client_for(world.ada).post(
        fire_url(alliance, trigger), {"note": "The subsidy was cut by 20%."}, follow=True
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "Escalation opened with the steering committee" in page
    assert "review action assigned to Dev Manager" in page

    trigger.refresh_from_db()
    assert trigger.fired_at is not None and trigger.fired_by == world.ada
    escalation = fired_escalations(alliance).get()
    assert escalation.title == f"Adaptation trigger fired: {trigger.condition}"
    assert escalation.description == "The subsidy was cut by 20%."
    assert escalation.rung == Rung.STEERING_COMMITTEE
    assert escalation.sla_days == default_sla_days()
    assert escalation.due_at == escalation.raised_at + timedelta(days=escalation.sla_days)
    assert escalation.raised_by == world.ada
    assert escalation.raised_by_organization == world.northwind
    assert escalation.is_open

    action = ActionItem.objects.get(alliance=alliance, title__startswith="Review the alliance")
    assert action.title == f"Review the alliance: {trigger.condition}"
    assert action.owner == manager
    assert action.author_organization == world.northwind
    assert action.visibility == "shared"
    assert action.source == ActionSource.MANUAL
    assert action.due_on == timezone.localdate() + timedelta(days=14)
    assert "The subsidy was cut by 20%." in action.details


def test_both_sides_see_the_escalation_and_the_action(world):
    alliance = world.shared
    fired = services.trigger_fire(
        trigger=trigger_of(alliance), user=world.ada, organization=world.northwind, note="Cut"
    )
    for user, org in ((world.ada, "northwind"), (world.ben, "contoso")):
        scope = scope_for(user, org)
        assert fired.escalation in scope.rows(Escalation)
        assert fired.action in scope.rows(ActionItem)
    outsider = scope_for(world.cy, "fabrikam")
    assert fired.escalation not in outsider.rows(Escalation)
    assert fired.action not in outsider.rows(ActionItem)


def test_a_second_firing_is_refused_and_opens_nothing(world, client_for):
    alliance = world.shared
    trigger = trigger_of(alliance)
    services.trigger_fire(trigger=trigger, user=world.ada, organization=world.northwind, note="Cut")
    escalations, actions = Escalation.objects.count(), ActionItem.objects.count()

    with pytest.raises(ValidationError, match="already fired"):
        services.trigger_fire(
            trigger=trigger_of(alliance), user=world.ben, organization=world.contoso, note="Again"
        )
    response = client_for(world.ben).post(
        fire_url(alliance, trigger, org="contoso"), {"note": "Again"}
    )
    assert response.status_code in (200, 400)
    assert "already fired" in response.content.decode()
    assert (Escalation.objects.count(), ActionItem.objects.count()) == (escalations, actions)
    trigger.refresh_from_db()
    assert trigger.fired_by == world.ada and trigger.fired_note == "Cut"


def test_the_partner_fires_and_its_own_side_owns_the_review(world, client_for):
    alliance = world.shared
    sponsor = ContactFactory(
        alliance=alliance,
        side=Side.PARTNER,
        name="Rhea Sponsor",
        function=ContactFunction.EXECUTIVE_SPONSOR,
    )
    ContactFactory(alliance=alliance, side=Side.LEAD, function=ContactFunction.ALLIANCE_MANAGER)
    ContactFactory(
        alliance=alliance,
        side=Side.PARTNER,
        function=ContactFunction.ALLIANCE_MANAGER,
        is_active=False,
    )
    trigger = trigger_of(alliance)
    response = client_for(world.ben).post(
        fire_url(alliance, trigger, org="contoso"), {"note": "Contoso's budget moved."}
    )
    assert response.status_code == 302
    escalation = fired_escalations(alliance).get()
    assert escalation.raised_by_organization == world.contoso
    action = ActionItem.objects.get(alliance=alliance, title__startswith="Review the alliance")
    # The inactive alliance manager is passed over for the active executive sponsor.
    assert action.owner == sponsor
    assert action.author_organization == world.contoso


def test_owner_falls_back_to_any_active_contact_of_the_side(world):
    alliance = world.shared
    fired = services.trigger_fire(
        trigger=trigger_of(alliance), user=world.ben, organization=world.contoso, note="Cut"
    )
    assert fired.action.owner == alliance.contacts.get(side=Side.PARTNER)


def test_a_side_without_contacts_gets_the_escalation_but_no_action(world):
    alliance = world.shared
    partner_contact = alliance.contacts.get(side=Side.PARTNER)
    ActionItem.objects.filter(owner=partner_contact).delete()
    partner_contact.delete()
    fired = services.trigger_fire(
        trigger=trigger_of(alliance), user=world.ben, organization=world.contoso, note="Cut"
    )
    assert fired.escalation.rung == Rung.STEERING_COMMITTEE
    assert fired.action is None
    assert "no review action" in fired.summary
    assert not ActionItem.objects.filter(title__startswith="Review the alliance").exists()


def test_only_a_party_fires_and_a_note_is_required(world):
    trigger = trigger_of(world.shared)
    with pytest.raises(ValidationError):
        services.trigger_fire(trigger=trigger, user=world.cy, organization=world.fabrikam, note="x")
    with pytest.raises(ValidationError):
        services.trigger_fire(
            trigger=trigger, user=world.ada, organization=world.northwind, note=" "
        )
    trigger.refresh_from_db()
    assert trigger.fired_at is None
    assert not fired_escalations(world.shared).exists()
