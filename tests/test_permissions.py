"""Roles inside one's own organisation: a member who may see a thing but not do it gets 403.

(Another tenant's things are a 404: see ``test_tenancy_walker``.)
"""

import pytest

from alliances.models import (
    VALUE_THESIS_FIELDS,
    AdaptationTrigger,
    Alliance,
    Contact,
    JournalEntry,
    MemberInvitation,
    Membership,
    Role,
    Side,
    Stage,
)
from alliances.services import member_invite


def base(org, alliance):
    return f"/o/{org}/alliances/{alliance.pk}/"


def alliance_data(alliance, **changes):
    data = {name: getattr(alliance, name) for name in VALUE_THESIS_FIELDS}
    data.update(
        name=alliance.name,
        partner_name=alliance.partner_name,
        model=alliance.model,
        strategic_importance=alliance.strategic_importance,
    )
    return {**data, **changes}


def snapshot():
    """Counts and states a refused request must leave as they were."""
    return (
        JournalEntry.objects.count(),
        Contact.objects.count(),
        AdaptationTrigger.objects.count(),
        Alliance.objects.filter(archived_at__isnull=False).count(),
        list(Alliance.objects.order_by("pk").values_list("stage", "name")),
        Membership.objects.filter(role=Role.ADMIN).count(),
        MemberInvitation.objects.count(),
    )


def lead_contact(world):
    return world.shared.contacts.get(side=Side.LEAD)


def partner_contact(world):
    return world.shared.contacts.get(side=Side.PARTNER)


def first_check(world):
    return world.shared.gate_checks.order_by("pk").first()


def first_trigger(world):
    return world.shared.adaptation_triggers.get()


# Each: (what, path below /o/northwind/, POST body).
VIEWER_REFUSED = [
    ("edit", lambda w: base("northwind", w.shared) + "edit/", lambda w: alliance_data(w.shared)),
    ("create", lambda w: "/o/northwind/alliances/new/", lambda w: {"name": "New", "model": "x"}),
    ("archive", lambda w: base("northwind", w.shared) + "archive/", lambda w: {"archive": "1"}),
    (
        "journal",
        lambda w: base("northwind", w.shared) + "journal/",
        lambda w: {"body": "Viewer note", "visibility": "shared"},
    ),
    (
        "gate toggle",
        lambda w: base("northwind", w.shared) + f"gate/{first_check(w).pk}/",
        lambda w: {"done": "1"},
    ),
    (
        "contact create",
        lambda w: base("northwind", w.shared) + "contacts/new/",
        lambda w: {"name": "V", "email": "v@northwind.example", "function": "sales"},
    ),
    (
        "contact edit",
        lambda w: base("northwind", w.shared) + f"contacts/{lead_contact(w).pk}/",
        lambda w: {"name": "Renamed", "email": "r@northwind.example", "function": "sales"},
    ),
    ("contact import", lambda w: base("northwind", w.shared) + "contacts/import/", lambda w: {}),
    (
        "stage advance",
        lambda w: base("northwind", w.shared) + "stage/advance/",
        lambda w: {"note": "Ready", "override_reason": "Anyway"},
    ),
    (
        "stage back",
        lambda w: base("northwind", w.shared) + "stage/back/",
        lambda w: {"to_stage": "1", "reason": "Back"},
    ),
    (
        "trigger create",
        lambda w: base("northwind", w.shared) + "triggers/new/",
        lambda w: {"condition": "Viewer trigger"},
    ),
    (
        "trigger fire",
        lambda w: base("northwind", w.shared) + f"triggers/{first_trigger(w).pk}/fire/",
        lambda w: {"note": "It happened"},
    ),
    (
        "trigger delete",
        lambda w: base("northwind", w.shared) + f"triggers/{first_trigger(w).pk}/delete/",
        lambda w: {},
    ),
    ("partner fit", lambda w: base("northwind", w.shared) + "fit/", lambda w: {}),
    (
        "invite partner",
        lambda w: base("northwind", w.litware) + "invite-partner/",
        lambda w: {"email": "p@litware.example"},
    ),
]


@pytest.mark.parametrize(
    ("what", "url", "body"), VIEWER_REFUSED, ids=[v[0] for v in VIEWER_REFUSED]
)
def test_viewer_is_refused_every_write(world, client_for, what, url, body):
    before = snapshot()
    response = client_for(world.vic).post(url(world), body(world))
    assert response.status_code == 403, what
    assert snapshot() == before


def test_viewer_reads_everything_of_the_organisation(world, client_for):
    client = client_for(world.vic)
    for suffix in ("", "contacts/", "contacts/export.csv", "fit/"):
        assert client.get(base("northwind", world.shared) + suffix).status_code == 200, suffix
    assert client.get("/o/northwind/").status_code == 200
    assert client.get("/o/northwind/members/").status_code == 200


def test_viewer_gets_403_on_edit_pages_too(world, client_for):
    client = client_for(world.vic)
    for suffix in ("edit/", "stage/advance/", "triggers/new/", "contacts/new/"):
        assert client.get(base("northwind", world.shared) + suffix).status_code == 403, suffix


# --- the partner's managers -----------------------------------------------------------------

SETTINGS_WRITES = [
    ("edit", lambda w: "edit/", lambda w: alliance_data(w.shared, purpose="Partner's purpose")),
    (
        "stage advance",
        lambda w: "stage/advance/",
        lambda w: {"note": "Go", "override_reason": "Go"},
    ),
    ("gate toggle", lambda w: f"gate/{first_check(w).pk}/", lambda w: {"done": "1"}),
    ("trigger create", lambda w: "triggers/new/", lambda w: {"condition": "Partner trigger"}),
    ("trigger delete", lambda w: f"triggers/{first_trigger(w).pk}/delete/", lambda w: {}),
]


@pytest.mark.parametrize(
    ("what", "suffix", "body"), SETTINGS_WRITES, ids=[s[0] for s in SETTINGS_WRITES]
)
def test_partner_manager_may_not_edit_settings_by_default(world, client_for, what, suffix, body):
    client = client_for(world.ben)
    url = base("contoso", world.shared) + suffix(world)
    before = snapshot()
    assert client.post(url, body(world)).status_code == 403
    assert snapshot() == before
    if what in ("edit", "stage advance"):
        assert client.get(url).status_code == 403


def test_partner_manager_may_edit_settings_when_the_lead_allows(world, client_for):
    Alliance.objects.filter(pk=world.shared.pk).update(partner_may_edit_settings=True)
    client = client_for(world.ben)
    url = base("contoso", world.shared)

    assert client.get(url + "edit/").status_code == 200
    response = client.post(url + "edit/", alliance_data(world.shared, purpose="Both sign this."))
    assert response.status_code == 302
    world.shared.refresh_from_db()
    assert world.shared.purpose == "Both sign this."
    assert world.shared.partner_may_edit_settings, "only the lead grants or withdraws this"

    check = first_check(world)
    assert client.post(url + f"gate/{check.pk}/", {"done": "1"}).status_code == 302
    check.refresh_from_db()
    assert check.is_done and check.done_by == world.ben

    assert client.post(url + "triggers/new/", {"condition": "Contoso's trigger"}).status_code == 302
    assert world.shared.adaptation_triggers.filter(condition="Contoso's trigger").exists()

    response = client.post(url + "stage/advance/", {"note": "Ready", "override_reason": "Go"})
    assert response.status_code == 302
    world.shared.refresh_from_db()
    assert world.shared.stage == Stage.GOVERNANCE
    assert world.shared.transitions.first().by_organization == world.contoso


def test_only_the_lead_archives_even_when_the_partner_edits_settings(world, client_for):
    Alliance.objects.filter(pk=world.shared.pk).update(partner_may_edit_settings=True)
    url = base("contoso", world.shared) + "archive/"
    assert client_for(world.ben).post(url, {"archive": "1"}).status_code == 403
    world.shared.refresh_from_db()
    assert not world.shared.is_archived


def test_lead_manager_archives_and_archived_alliances_are_read_only(world, client_for):
    client = client_for(world.dan)
    url = base("northwind", world.shared)
    assert client.post(url + "archive/", {"archive": "1"}).status_code == 302
    world.shared.refresh_from_db()
    assert world.shared.is_archived
    note = {"body": "After archiving", "visibility": "shared"}
    assert client.post(url + "journal/", note).status_code == 403
    assert client.post(url + "edit/", alliance_data(world.shared)).status_code == 403
    assert client.post(url + "archive/", {"archive": "0"}).status_code == 302
    world.shared.refresh_from_db()
    assert not world.shared.is_archived


def test_partner_manager_invites_no_partner(world, client_for):
    url = base("contoso", world.shared) + "invite-partner/"
    assert client_for(world.ben).post(url, {"email": "x@contoso.example"}).status_code == 403


def test_partner_manager_keeps_the_shared_operating_records(world, client_for):
    client = client_for(world.ben)
    url = base("contoso", world.shared)
    note = {"body": "Contoso's view", "visibility": "shared"}
    assert client.post(url + "journal/", note).status_code == 302
    trigger = first_trigger(world)
    fired = client.post(url + f"triggers/{trigger.pk}/fire/", {"note": "Subsidy cut"})
    assert fired.status_code == 302
    trigger.refresh_from_db()
    assert trigger.fired_by == world.ben


def test_partner_manager_adds_contacts_to_his_own_side(world, client_for):
    response = client_for(world.ben).post(
        base("contoso", world.shared) + "contacts/new/",
        {"name": "Cleo", "email": "cleo@contoso.example", "function": "sales", "is_active": "on"},
    )
    assert response.status_code == 302
    assert Contact.objects.get(email="cleo@contoso.example").side == Side.PARTNER


def test_partner_manager_edits_his_sides_contacts_but_not_the_leads(world, client_for):
    client = client_for(world.ben)
    url = base("contoso", world.shared) + "contacts/{}/"
    theirs, ours = lead_contact(world), partner_contact(world)
    body = {"name": "Renamed", "email": "renamed@example.com", "function": "sales"}

    assert client.get(url.format(theirs.pk)).status_code == 403
    assert client.post(url.format(theirs.pk), body).status_code == 403
    theirs.refresh_from_db()
    assert theirs.name == "Northwind Sponsor"

    assert client.get(url.format(ours.pk)).status_code == 200
    assert client.post(url.format(ours.pk), body).status_code == 302
    ours.refresh_from_db()
    assert ours.name == "Renamed"


def test_lead_manager_may_not_edit_the_partners_contacts(world, client_for):
    url = base("northwind", world.shared) + f"contacts/{partner_contact(world).pk}/"
    assert client_for(world.dan).post(url, {"name": "X", "email": "x@x.example"}).status_code == 403


# --- members: admins only -------------------------------------------------------------------


@pytest.fixture
def invitation(world):
    return member_invite(
        organization=world.northwind,
        email="newcomer@northwind.example",
        role=Role.VIEWER,
        invited_by=world.ada,
    )


def member_writes(world, invitation):
    vic = Membership.objects.get(user=world.vic)
    item = world.northwind.gate_items.first()
    return [
        ("/o/northwind/members/", {"email": "someone@northwind.example", "role": "viewer"}),
        (f"/o/northwind/members/{vic.pk}/role/", {"role": Role.ADMIN}),
        (f"/o/northwind/members/{vic.pk}/remove/", {}),
        (f"/o/northwind/invitations/{invitation.pk}/revoke/", {}),
        ("/o/northwind/settings/gates/", {"stage": "1", "text": "A manager's gate item"}),
        (f"/o/northwind/settings/gates/{item.pk}/remove/", {}),
    ]


@pytest.mark.parametrize("user", ["dan", "vic"])
def test_only_admins_manage_members_and_settings(world, client_for, invitation, user):
    client = client_for(getattr(world, user))
    for url, body in member_writes(world, invitation):
        before = snapshot()
        gate_items = list(world.northwind.gate_items.values_list("pk", "is_active", "text"))
        assert client.post(url, body).status_code == 403, url
        assert snapshot() == before, url
        assert list(world.northwind.gate_items.values_list("pk", "is_active", "text")) == (
            gate_items
        )
    assert Membership.objects.get(user=world.vic).role == Role.VIEWER
    invitation.refresh_from_db()
    assert invitation.revoked_at is None


def test_admin_manages_members(world, client_for, invitation):
    client = client_for(world.ada)
    dan = Membership.objects.get(user=world.dan)
    assert (
        client.post(f"/o/northwind/members/{dan.pk}/role/", {"role": "viewer"}).status_code == 302
    )
    dan.refresh_from_db()
    assert dan.role == Role.VIEWER
    assert client.post(f"/o/northwind/invitations/{invitation.pk}/revoke/").status_code == 302
    invitation.refresh_from_db()
    assert invitation.revoked_at is not None


def test_partner_admin_rights_stop_at_his_own_organisation(world, client_for):
    """ben manages nothing of Northwind's, even as a party to its alliance."""
    ada = Membership.objects.get(user=world.ada)
    response = client_for(world.ben).post(f"/o/contoso/members/{ada.pk}/role/", {"role": "viewer"})
    assert response.status_code == 404


# --- anonymous ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "suffix"),
    [("get", ""), ("get", "contacts/"), ("get", "contacts/export.csv"), ("post", "journal/")],
)
def test_anonymous_users_are_sent_to_login(world, client, method, suffix):
    url = base("northwind", world.shared) + suffix
    response = getattr(client, method)(url, {"body": "x", "visibility": "shared"})
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")
    assert JournalEntry.objects.filter(body="x").count() == 0


@pytest.mark.parametrize("url", ["/", "/o/northwind/", "/o/northwind/members/", "/o/nobody/"])
def test_anonymous_users_are_sent_to_login_from_organisation_pages(world, client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
