"""What each party sees of an alliance, and what never crosses to the other side.

Northwind leads ``shared`` with Contoso and ``litware`` with Litware; Fabrikam (cy) is the
outsider. Each side's internal notes and partner-fit scores stay with that side.
"""

import csv
import io

import pytest
from django.core import mail

from alliances import services
from alliances.models import (
    FitCriterion,
    JournalEntry,
    PartnerFitScore,
    PartnerInvitation,
    Role,
    Side,
    Visibility,
)
from tests.factories import ContactFactory, JournalEntryFactory


def detail(world, org, alliance):
    """The alliance's home: its one-pager."""
    return f"/o/{org}/alliances/{alliance.pk}/"


def profile(world, org, alliance):
    """The alliance's profile: its gate, people, thesis, triggers, fit and journal."""
    return detail(world, org, alliance) + "profile/"


def listed(response):
    return {alliance.name for alliance in response.context["alliances"]}


# --- alliances ------------------------------------------------------------------------------


def test_partner_sees_the_shared_alliance_and_nothing_else_of_the_leads(world, client_for):
    client = client_for(world.ben)

    response = client.get("/o/contoso/?status=all")
    assert response.status_code == 200
    assert listed(response) == {world.shared.name}
    assert world.litware.name.encode() not in response.content
    assert world.fabrikam_alliance.name.encode() not in response.content

    response = client.get(detail(world, "contoso", world.shared))
    assert response.status_code == 200
    assert response.context["here"].side == Side.PARTNER

    assert client.get(detail(world, "contoso", world.litware)).status_code == 404
    assert client.get(detail(world, "contoso", world.fabrikam_alliance)).status_code == 404


def test_partner_does_not_see_the_leads_archived_alliances_either(world, client_for):
    services.alliance_set_archived(alliance=world.litware, archived=True)
    response = client_for(world.ben).get("/o/contoso/?status=archived")
    assert listed(response) == set()


def test_lead_sees_its_alliances(world, client_for):
    response = client_for(world.ada).get("/o/northwind/")
    assert listed(response) == {world.shared.name, world.litware.name}


def test_outsider_sees_none_of_northwinds_alliances(world, client_for):
    client = client_for(world.cy)
    response = client.get("/o/fabrikam/?status=all")
    assert listed(response) == {world.fabrikam_alliance.name}
    for name in (world.shared.name, world.litware.name, "Northwind", "Contoso"):
        assert name.encode() not in response.content
    assert client.get("/o/fabrikam/?q=Northwind").context["alliances"] == []
    assert client.get("/o/northwind/").status_code == 404


def test_stage_counts_count_only_ones_own_alliances(world, client_for):
    response = client_for(world.ben).get("/o/contoso/")
    assert sum(response.context["stage_counts"].values()) == 1


# --- members --------------------------------------------------------------------------------


@pytest.mark.parametrize(("user", "org"), [("ben", "contoso"), ("cy", "fabrikam")])
def test_members_page_lists_only_ones_own_organisation(world, client_for, user, org):
    response = client_for(getattr(world, user)).get(f"/o/{org}/members/")
    assert response.status_code == 200
    emails = {m.user.email for m in response.context["members"]}
    assert emails == {getattr(world, user).email}
    assert b"northwind.example" not in response.content


# --- journal --------------------------------------------------------------------------------


def test_internal_notes_stay_with_their_author(world, client_for):
    ada_sees = client_for(world.ada).get(profile(world, "northwind", world.shared)).content
    assert b"Northwind internal secret" in ada_sees
    assert b"Northwind shared" in ada_sees
    assert b"Contoso internal secret" not in ada_sees

    ben_sees = client_for(world.ben).get(profile(world, "contoso", world.shared)).content
    assert b"Contoso internal secret" in ben_sees
    assert b"Northwind shared" in ben_sees
    assert b"Northwind internal secret" not in ben_sees


def test_the_partner_organisations_internal_notes_stay_hidden_from_the_lead(world, client_for):
    content = client_for(world.ada).get(profile(world, "northwind", world.litware)).content
    assert b"Northwind internal secret" in content
    assert b"Litware internal secret" not in content


def test_a_note_posted_as_internal_never_reaches_the_partner(world, client_for):
    client = client_for(world.ben)
    response = client.post(
        detail(world, "contoso", world.shared) + "journal/",
        {"body": "Contoso thinks the lead is slow", "visibility": Visibility.INTERNAL},
    )
    assert response.status_code == 302
    entry = JournalEntry.objects.get(body="Contoso thinks the lead is slow")
    assert entry.author_organization == world.contoso

    for user in (world.ada, world.dan, world.vic):
        content = client_for(user).get(profile(world, "northwind", world.shared)).content
        assert b"Contoso thinks the lead is slow" not in content
    assert entry not in JournalEntry.objects.visible_to(world.northwind)
    assert entry in JournalEntry.objects.visible_to(world.contoso)


def test_journal_only_shows_the_alliance_at_hand(world, client_for):
    JournalEntryFactory(alliance=world.litware, body="About the Litware deal")
    content = client_for(world.ada).get(profile(world, "northwind", world.shared)).content
    assert b"About the Litware deal" not in content
    assert b"Fabrikam shared" not in content


def test_adding_an_internal_note_emails_nobody(
    world, client_for, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(world.ada).post(
            detail(world, "northwind", world.shared) + "journal/",
            {"body": "Northwind is unsure about renewal", "visibility": Visibility.INTERNAL},
        )
    assert response.status_code == 302
    assert mail.outbox == []


def test_mail_outbox_does_capture_mail(world, django_capture_on_commit_callbacks):
    """Control for the test above: sent mail does land in ``mail.outbox``."""
    with django_capture_on_commit_callbacks(execute=True):
        services.member_invite(
            organization=world.northwind,
            email="new@northwind.example",
            role=Role.VIEWER,
            invited_by=world.ada,
        )
    assert [message.to for message in mail.outbox] == [["new@northwind.example"]]


# --- partner fit ----------------------------------------------------------------------------


@pytest.fixture
def fit_scores(world):
    for organization, flag in ((world.northwind, "NW-RED-FLAG"), (world.contoso, "CT-RED-FLAG")):
        services.partner_fit_save(
            alliance=world.shared,
            organization=organization,
            scores={criterion: (3, flag) for criterion in FitCriterion.values},
        )


@pytest.mark.parametrize(
    ("user", "org", "own", "other"),
    [
        ("ada", "northwind", "NW-RED-FLAG", "CT-RED-FLAG"),
        ("ben", "contoso", "CT-RED-FLAG", "NW-RED-FLAG"),
    ],
)
def test_partner_fit_is_seen_only_by_the_side_that_scored(
    world, client_for, fit_scores, user, org, own, other
):
    client = client_for(getattr(world, user))
    response = client.get(profile(world, org, world.shared))
    organization = response.context["here"].scope.organization
    scores = response.context["overview"].fit_scores
    assert len(scores) == len(FitCriterion.values)
    assert {score.author_organization_id for score in scores} == {organization.pk}
    assert own.encode() in response.content
    assert other.encode() not in response.content

    form_page = client.get(detail(world, org, world.shared) + "fit/").content
    assert own.encode() in form_page
    assert other.encode() not in form_page


def test_fit_scores_are_always_stored_internal(world, fit_scores):
    assert set(PartnerFitScore.objects.values_list("visibility", flat=True)) == {
        Visibility.INTERNAL
    }
    assert PartnerFitScore.objects.visible_to(world.fabrikam).count() == 0


def test_fit_scores_are_hidden_from_the_other_side_even_if_marked_shared(world, fit_scores):
    PartnerFitScore.objects.update(visibility=Visibility.SHARED)
    visible = PartnerFitScore.objects.visible_to(world.contoso)
    assert set(visible.values_list("author_organization", flat=True)) == {world.contoso.pk}


# --- partner invitations --------------------------------------------------------------------


def test_partner_invitations_are_seen_only_by_the_lead(world):
    invitation = PartnerInvitation.objects.create(
        alliance=world.shared,
        email="ben@contoso.example",
        token_hash="0" * 64,
        invited_by=world.ada,
        expires_at=world.shared.created_at,
    )
    assert invitation in PartnerInvitation.objects.visible_to(world.northwind)
    assert not PartnerInvitation.objects.visible_to(world.contoso).exists()
    assert not PartnerInvitation.objects.visible_to(world.fabrikam).exists()


def test_pending_partner_invitation_shows_on_the_leads_page(world, client_for):
    alliance = services.alliance_create(
        organization=world.northwind,
        user=world.ada,
        name="Northwind–Adatum Pilot",
        partner_name="Adatum",
        partner_email="pat@adatum.example",
    )
    response = client_for(world.ada).get(profile(world, "northwind", alliance))
    assert response.context["overview"].pending_invitation.email == "pat@adatum.example"
    assert b"pat@adatum.example" in response.content
    assert client_for(world.ben).get(detail(world, "contoso", alliance)).status_code == 404


# --- contacts -------------------------------------------------------------------------------


def export_rows(response):
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.content.decode())))


@pytest.mark.parametrize(("user", "org"), [("ada", "northwind"), ("ben", "contoso")])
def test_contacts_export_holds_this_alliances_contacts_only(world, client_for, user, org):
    ContactFactory(alliance=world.litware, name="Litware Only Person", email="lo@litware.example")
    ContactFactory(alliance=world.shared, side=Side.PARTNER, name="Cleo Contoso")
    response = client_for(getattr(world, user)).get(
        detail(world, org, world.shared) + "contacts/export.csv"
    )
    rows = export_rows(response)
    assert sorted((row["name"], row["side"]) for row in rows) == [
        ("Cleo Contoso", "Contoso"),
        ("Contoso Sponsor", "Contoso"),
        ("Northwind Sponsor", "Northwind"),
    ]
    for stranger in (b"Litware", b"Fabrikam", b"Wingtip", b"lo@litware.example"):
        assert stranger not in response.content


def test_contacts_export_of_another_tenants_alliance_is_404(world, client_for):
    assert (
        client_for(world.ben)
        .get(detail(world, "contoso", world.litware) + "contacts/export.csv")
        .status_code
        == 404
    )
    assert (
        client_for(world.cy)
        .get(detail(world, "fabrikam", world.shared) + "contacts/export.csv")
        .status_code
        == 404
    )


def test_contacts_page_lists_both_sides_of_this_alliance_only(world, client_for):
    ContactFactory(alliance=world.litware, name="Litware Only Person")
    response = client_for(world.ben).get(detail(world, "contoso", world.shared) + "contacts/")
    names = {contact.name for _, group in response.context["groups"] for contact in group}
    assert names == {"Northwind Sponsor", "Contoso Sponsor"}
    assert b"Litware Only Person" not in response.content
