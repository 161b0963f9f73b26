"""Invitations of members and partners, member management, and the account pages."""

import hashlib
import re
from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from alliances import services
from alliances.models import (
    Alliance,
    JournalEntry,
    MemberInvitation,
    Membership,
    Organization,
    PartnerInvitation,
    Role,
    User,
)
from tests.factories import PASSWORD, OrganizationFactory, UserFactory, member

GOOD_PASSWORD = "correct-horse-battery-42"


def link_token(message, kind: str) -> str:
    match = re.search(rf"http://testserver/{kind}/([A-Za-z0-9_-]+)/", message.body)
    assert match, message.body
    return match.group(1)


def signup(full_name="New Person", password=GOOD_PASSWORD, again=None):
    return {"full_name": full_name, "password1": password, "password2": again or password}


def session_user_id(client):
    return int(client.session["_auth_user_id"]) if "_auth_user_id" in client.session else None


@pytest.fixture
def invite_member(world, client_for, django_capture_on_commit_callbacks):
    """Ada invites someone through the members page; returns the token from the email."""

    def invite(email, role="manager"):
        sent = len(mail.outbox)
        with django_capture_on_commit_callbacks(execute=True):
            response = client_for(world.ada).post(
                "/o/northwind/members/", {"email": email, "role": role}
            )
        assert response.status_code == 302, response.content.decode()[:2000]
        assert len(mail.outbox) == sent + 1
        return link_token(mail.outbox[-1], "join")

    return invite


@pytest.fixture
def invite_partner(world, client_for, django_capture_on_commit_callbacks):
    """Ada creates an alliance that invites ``email`` as the partner; returns (alliance, token)."""

    def invite(email, name="Northwind–Adatum Analytics", partner_name="Adatum"):
        with django_capture_on_commit_callbacks(execute=True):
            response = client_for(world.ada).post(
                "/o/northwind/alliances/new/",
                {"name": name, "partner_name": partner_name, "model": "complementary",
                 "strategic_importance": "3", "partner_email": email},
            )  # fmt: skip
        assert response.status_code == 302, response.content.decode()[:2000]
        return Alliance.objects.get(name=name), link_token(mail.outbox[-1], "partner")

    return invite


# --- member invitations --------------------------------------------------------------------


def test_admin_invites_a_new_member_who_signs_up_and_joins(world, invite_member):
    token = invite_member("Newbie@Northwind.example", role="manager")
    message = mail.outbox[-1]
    assert message.to == ["newbie@northwind.example"]
    assert "Northwind" in message.subject
    assert f"http://testserver/join/{token}/" in message.alternatives[0][0]

    client = Client()
    response = client.get(f"/join/{token}/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Create your account" in page and "newbie@northwind.example" in page
    assert 'name="password1"' in page

    response = client.post(f"/join/{token}/", signup())
    assert response.status_code == 302
    assert response["Location"] == "/o/northwind/"
    user = User.objects.get(email="newbie@northwind.example")
    assert user.full_name == "New Person" and user.check_password(GOOD_PASSWORD)
    assert Membership.objects.get(user=user, organization=world.northwind).role == Role.MANAGER
    assert session_user_id(client) == user.pk
    assert client.get("/o/northwind/").status_code == 200
    invitation = MemberInvitation.objects.get(email="newbie@northwind.example")
    assert invitation.accepted_by == user and invitation.accepted_at is not None


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (signup(password="123"), "password1", "too short"),
        (signup(password="password"), "password1", "too common"),
        (signup(password="84736291057"), "password1", "entirely numeric"),
        (signup(password=GOOD_PASSWORD, again=GOOD_PASSWORD + "x"), "password2", "differ"),
        (signup(full_name=""), "full_name", "required"),
        ({"csrfmiddlewaretoken": "x"}, "password1", "required"),
    ],
)
def test_signup_field_errors(world, invite_member, data, field, message):
    token = invite_member("newbie@northwind.example")
    response = Client().post(f"/join/{token}/", data)
    assert response.status_code == 400
    page = response.content.decode()
    start = page.index(f'id="id_{field}_error">')
    assert message in page[start : page.index("</p>", start)]
    assert not User.objects.filter(email="newbie@northwind.example").exists()
    assert MemberInvitation.objects.get(email="newbie@northwind.example").is_pending


def test_a_used_link_no_longer_works_and_says_why(world, invite_member):
    token = invite_member("newbie@northwind.example")
    client = Client()
    assert client.post(f"/join/{token}/", signup()).status_code == 302
    for other in (client, Client()):
        response = other.get(f"/join/{token}/")
        assert response.status_code == 404
        page = response.content.decode()
        assert "no longer works" in page and "used already" in page
        assert other.post(f"/join/{token}/", signup()).status_code == 404
    assert Membership.objects.filter(user__email="newbie@northwind.example").count() == 1


def test_an_expired_link_no_longer_works(world, invite_member):
    token = invite_member("newbie@northwind.example")
    MemberInvitation.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    response = Client().get(f"/join/{token}/")
    assert response.status_code == 404
    assert "expired" in response.content.decode()
    assert Client().post(f"/join/{token}/", signup()).status_code == 404
    assert not User.objects.filter(email="newbie@northwind.example").exists()


def test_an_unknown_token_no_longer_works(world):
    response = Client().get("/join/made-up-token/")
    assert response.status_code == 404
    assert "no longer works" in response.content.decode()


def test_a_new_invitation_revokes_the_previous_link(world, invite_member):
    first = invite_member("newbie@northwind.example", role="viewer")
    second = invite_member("NEWBIE@northwind.example", role="admin")
    assert first != second
    assert Client().get(f"/join/{first}/").status_code == 404
    client = Client()
    assert client.get(f"/join/{second}/").status_code == 200
    assert client.post(f"/join/{second}/", signup()).status_code == 302
    membership = Membership.objects.get(user__email="newbie@northwind.example")
    assert membership.role == Role.ADMIN


def test_a_revoked_invitation_no_longer_works(world, invite_member, client_for):
    token = invite_member("newbie@northwind.example")
    invitation = MemberInvitation.objects.get(email="newbie@northwind.example")
    page = client_for(world.ada).get("/o/northwind/members/").content.decode()
    assert "newbie@northwind.example" in page
    response = client_for(world.ada).post(f"/o/northwind/invitations/{invitation.pk}/revoke/")
    assert response.status_code == 302
    assert Client().get(f"/join/{token}/").status_code == 404


def test_only_the_hash_of_the_token_is_stored(world, invite_member):
    token = invite_member("newbie@northwind.example")
    assert len(token) >= 43  # 256 bits, URL-safe base64
    invitation = MemberInvitation.objects.get(email="newbie@northwind.example")
    assert invitation.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert not MemberInvitation.objects.filter(token_hash=token).exists()
    stored = [str(getattr(invitation, f.attname)) for f in MemberInvitation._meta.concrete_fields]
    assert not any(token in value for value in stored)


def test_inviting_an_existing_member_is_a_field_error(
    world, client_for, django_capture_on_commit_callbacks
):
    client = client_for(world.ada)
    for email in ("dan@northwind.example", "DAN@Northwind.Example"):
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post("/o/northwind/members/", {"email": email, "role": "viewer"})
        assert response.status_code == 400
        page = response.content.decode()
        start = page.index('id="id_email_error">')
        assert "already a member of Northwind" in page[start : page.index("</p>", start)]
    assert mail.outbox == []
    assert not MemberInvitation.objects.exists()


def test_invite_form_errors_and_permissions(world, client_for):
    client = client_for(world.ada)
    response = client.post("/o/northwind/members/", {"email": "nope", "role": "overlord"})
    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="id_email_error"' in page and 'id="id_role_error"' in page
    response = client_for(world.dan).post(
        "/o/northwind/members/", {"email": "x@example.com", "role": "viewer"}
    )
    assert response.status_code == 403
    assert not MemberInvitation.objects.exists()


def test_an_existing_user_is_asked_to_sign_in_then_accepts(world, invite_member):
    token = invite_member("ben@contoso.example", role="viewer")
    client = Client()
    response = client.get(f"/join/{token}/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Sign in to accept" in page and f"next=/join/{token}/" in page
    assert 'name="password1"' not in page
    # Posting without signing in changes nothing.
    client.post(f"/join/{token}/", signup())
    assert not Membership.objects.filter(user=world.ben, organization=world.northwind).exists()

    response = client.post(
        "/accounts/login/",
        {"username": "ben@contoso.example", "password": PASSWORD, "next": f"/join/{token}/"},
    )
    assert response.status_code == 302 and response["Location"] == f"/join/{token}/"
    page = client.get(f"/join/{token}/").content.decode()
    assert "Join Northwind" in page
    response = client.post(f"/join/{token}/")
    assert response.status_code == 302 and response["Location"] == "/o/northwind/"
    membership = Membership.objects.get(user=world.ben, organization=world.northwind)
    assert membership.role == Role.VIEWER
    # Ben keeps his own organisation.
    assert Membership.objects.filter(user=world.ben, organization=world.contoso).exists()


def test_signed_in_as_someone_else_is_a_403_that_explains(world, invite_member, client_for):
    token = invite_member("newbie@northwind.example")
    client = client_for(world.cy)
    response = client.get(f"/join/{token}/")
    assert response.status_code == 403
    page = response.content.decode()
    assert "newbie@northwind.example" in page and "cy@fabrikam.example" in page
    assert "Sign out" in page
    assert client.post(f"/join/{token}/", signup()).status_code == 403
    assert not Membership.objects.filter(organization=world.northwind, user=world.cy).exists()
    assert MemberInvitation.objects.get(email="newbie@northwind.example").is_pending


# --- partner invitations -------------------------------------------------------------------


def test_creating_an_alliance_with_a_partner_email_sends_an_invitation(world, invite_partner):
    alliance, token = invite_partner("Pat@Adatum.example")
    message = mail.outbox[-1]
    assert message.to == ["pat@adatum.example"]
    assert f"http://testserver/partner/{token}/" in message.body
    invitation = PartnerInvitation.objects.get(alliance=alliance)
    assert invitation.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert invitation.email == "pat@adatum.example" and invitation.is_pending
    assert alliance.partner_organization is None


def test_inviting_a_member_of_the_lead_as_partner_is_a_field_error(
    world, client_for, django_capture_on_commit_callbacks
):
    client = client_for(world.ada)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/o/northwind/alliances/new/",
            {"name": "Inside job", "partner_name": "Adatum", "model": "complementary",
             "strategic_importance": "3", "partner_email": "DAN@northwind.example"},
        )  # fmt: skip
    assert response.status_code in (200, 400)
    page = response.content.decode()
    start = page.index('id="id_partner_email_error">')
    error = page[start : page.index("</p>", start)]
    assert "belongs to a member of Northwind" in error
    assert not Alliance.objects.filter(name="Inside job").exists()
    assert mail.outbox == []


def test_the_invite_page_refuses_a_lead_member_and_reinvites(
    world, client_for, invite_partner, django_capture_on_commit_callbacks
):
    alliance, first = invite_partner("pat@adatum.example")
    client = client_for(world.ada)
    invite_page = f"/o/northwind/alliances/{alliance.pk}/invite-partner/"
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(invite_page, {"email": "vic@northwind.example"})
    assert response.status_code in (200, 400)
    assert "belongs to a member of Northwind" in response.content.decode()
    assert PartnerInvitation.objects.filter(alliance=alliance).count() == 1

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(invite_page, {"email": "sam@adatum.example"})
    assert response.status_code == 302
    second = link_token(mail.outbox[-1], "partner")
    assert Client().get(f"/partner/{first}/").status_code == 404
    assert Client().get(f"/partner/{second}/").status_code == 200
    # Only the lead invites.
    assert (
        client_for(world.ben)
        .post(f"/o/contoso/alliances/{world.shared.pk}/invite-partner/", {"email": "a@b.example"})
        .status_code
        == 403
    )


def test_a_new_user_accepts_and_a_new_partner_organisation_is_created(world, invite_partner):
    alliance, token = invite_partner("pat@adatum.example")
    client = Client()
    response = client.get(f"/partner/{token}/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Create your account" in page
    assert 'name="new_organization_name"' in page and 'value="Adatum"' in page
    assert 'name="organization"' not in page

    response = client.post(f"/partner/{token}/", {**signup(), "new_organization_name": ""})
    assert response.status_code == 400
    assert "Name the organisation" in response.content.decode()

    response = client.post(
        f"/partner/{token}/", {**signup(), "new_organization_name": "Adatum Europe"}
    )
    assert response.status_code == 302
    alliance.refresh_from_db()
    partner = alliance.partner_organization
    assert partner is not None and partner.name == "Adatum Europe"
    assert response["Location"] == f"/o/{partner.slug}/alliances/{alliance.pk}/"
    assert alliance.partner_name == "Adatum Europe"
    user = User.objects.get(email="pat@adatum.example")
    assert Membership.objects.get(user=user, organization=partner).role == Role.ADMIN
    assert session_user_id(client) == user.pk
    assert partner.gate_items.exists()  # a full tenant, with its default checklist
    assert JournalEntry.objects.filter(alliance=alliance, body__contains="joined").exists()
    assert client.get(response["Location"]).status_code == 200

    # The link is dead now, for anyone.
    assert client.get(f"/partner/{token}/").status_code == 404
    assert Client().post(f"/partner/{token}/", signup()).status_code == 404


def test_an_existing_manager_joins_with_their_organisation(world, invite_partner, client_for):
    alliance, token = invite_partner("ben@contoso.example")
    organisations = Organization.objects.count()
    assert Client().get(f"/partner/{token}/").content.decode().count("Sign in to accept") == 1

    client = client_for(world.ben)
    page = client.get(f"/partner/{token}/").content.decode()
    assert 'name="organization"' in page
    assert f'<option value="{world.contoso.pk}">Contoso</option>' in page
    response = client.post(
        f"/partner/{token}/", {"organization": world.contoso.pk, "new_organization_name": ""}
    )
    assert response.status_code == 302
    assert response["Location"] == f"/o/contoso/alliances/{alliance.pk}/"
    alliance.refresh_from_db()
    assert alliance.partner_organization == world.contoso
    assert Organization.objects.count() == organisations
    assert client.get(f"/partner/{token}/").status_code == 404


def test_an_existing_user_may_also_start_a_new_organisation(world, invite_partner, client_for):
    alliance, token = invite_partner("ben@contoso.example")
    response = client_for(world.ben).post(
        f"/partner/{token}/", {"organization": "", "new_organization_name": "Contoso Labs"}
    )
    assert response.status_code == 302
    alliance.refresh_from_db()
    assert alliance.partner_organization.name == "Contoso Labs"
    assert Membership.objects.get(user=world.ben, organization__name="Contoso Labs").is_admin


def test_the_lead_organisation_is_never_offered_or_accepted(world, invite_partner, client_for):
    alliance, token = invite_partner("eve@adatum.example")
    # Eve joined the lead after she was invited, and also runs an organisation of her own.
    eve = UserFactory(email="eve@adatum.example")
    member(eve, world.northwind, Role.MANAGER)
    eveco = OrganizationFactory(name="Eveco")
    member(eve, eveco, Role.ADMIN)
    viewer_of = OrganizationFactory(name="Lookers")
    member(eve, viewer_of, Role.VIEWER)

    client = client_for(eve)
    page = client.get(f"/partner/{token}/").content.decode()
    assert f'<option value="{eveco.pk}">Eveco</option>' in page
    assert f'value="{world.northwind.pk}"' not in page
    assert f'value="{viewer_of.pk}"' not in page
    for choice in (world.northwind.pk, viewer_of.pk, world.fabrikam.pk, "abc", "-1"):
        response = client.post(f"/partner/{token}/", {"organization": choice})
        assert response.status_code == 400, choice
        assert "valid choice" in response.content.decode()
    alliance.refresh_from_db()
    assert alliance.partner_organization is None

    invitation = PartnerInvitation.objects.get(alliance=alliance)
    with pytest.raises(ValidationError):
        services.partner_invitation_accept(
            invitation=invitation, user=eve, organization=world.northwind
        )
    alliance.refresh_from_db()
    assert alliance.partner_organization is None


def test_partner_link_for_someone_else_expired_or_unknown(world, invite_partner, client_for):
    alliance, token = invite_partner("pat@adatum.example")
    response = client_for(world.cy).get(f"/partner/{token}/")
    assert response.status_code == 403
    assert "pat@adatum.example" in response.content.decode()
    assert client_for(world.cy).post(f"/partner/{token}/", {"organization": ""}).status_code == 403

    PartnerInvitation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = Client().get(f"/partner/{token}/")
    assert response.status_code == 404 and "no longer works" in response.content.decode()
    assert Client().get("/partner/nonsense/").status_code == 404
    alliance.refresh_from_db()
    assert alliance.partner_organization is None


# --- member management ---------------------------------------------------------------------


def membership(user, org):
    return Membership.objects.get(user=user, organization=org)


def test_admin_changes_roles_and_removes_members(world, client_for):
    client = client_for(world.ada)
    page = client.get("/o/northwind/members/").content.decode()
    assert "dan@northwind.example" in page and "ben@contoso.example" not in page

    dan = membership(world.dan, world.northwind)
    response = client.post(f"/o/northwind/members/{dan.pk}/role/", {"role": "viewer"})
    assert response.status_code == 302
    dan.refresh_from_db()
    assert dan.role == Role.VIEWER

    response = client.post(f"/o/northwind/members/{dan.pk}/role/", {"role": "emperor"}, follow=True)
    assert "Choose a valid role." in response.content.decode()
    dan.refresh_from_db()
    assert dan.role == Role.VIEWER

    vic = membership(world.vic, world.northwind)
    response = client.post(f"/o/northwind/members/{vic.pk}/remove/")
    assert response.status_code == 302
    assert not Membership.objects.filter(pk=vic.pk).exists()
    assert client_for(world.vic).get("/o/northwind/").status_code == 404


def test_the_last_admin_cannot_be_demoted_or_removed(world, client_for):
    client = client_for(world.ada)
    ada = membership(world.ada, world.northwind)
    response = client.post(f"/o/northwind/members/{ada.pk}/role/", {"role": "manager"}, follow=True)
    assert response.status_code == 200
    assert "at least one admin" in response.content.decode()
    ada.refresh_from_db()
    assert ada.role == Role.ADMIN
    response = client.post(f"/o/northwind/members/{ada.pk}/remove/", follow=True)
    assert response.status_code == 200
    assert "at least one admin" in response.content.decode()
    assert Membership.objects.filter(pk=ada.pk).exists()

    # With a second admin, the first may step down.
    dan = membership(world.dan, world.northwind)
    client.post(f"/o/northwind/members/{dan.pk}/role/", {"role": "admin"})
    response = client.post(f"/o/northwind/members/{ada.pk}/role/", {"role": "manager"})
    assert response.status_code == 302
    ada.refresh_from_db()
    assert ada.role == Role.MANAGER


def test_only_admins_manage_members_and_only_their_own(world, client_for):
    vic = membership(world.vic, world.northwind)
    manager = client_for(world.dan)
    response = manager.post(f"/o/northwind/members/{vic.pk}/role/", {"role": "admin"})
    assert response.status_code == 403
    assert manager.post(f"/o/northwind/members/{vic.pk}/remove/").status_code == 403
    cy = membership(world.cy, world.fabrikam)
    admin = client_for(world.ada)
    assert admin.post(f"/o/northwind/members/{cy.pk}/role/", {"role": "viewer"}).status_code == 404
    assert admin.post(f"/o/northwind/members/{cy.pk}/remove/").status_code == 404
    cy.refresh_from_db()
    vic.refresh_from_db()
    assert cy.role == Role.ADMIN and vic.role == Role.VIEWER


# --- accounts ------------------------------------------------------------------------------


def test_login_page(world):
    client = Client()
    assert client.get("/accounts/login/").status_code == 200
    response = client.post(
        "/accounts/login/", {"username": "ada@northwind.example", "password": "wrong"}
    )
    assert response.status_code == 200
    assert "do not match an account" in response.content.decode()
    assert session_user_id(client) is None

    response = client.post(
        "/accounts/login/", {"username": "ada@northwind.example", "password": PASSWORD}
    )
    assert response.status_code == 302
    assert session_user_id(client) == world.ada.pk
    response = client.get(response["Location"])
    assert response.status_code == 302 and response["Location"] == "/o/northwind/portfolio/"


def test_login_ignores_the_case_of_the_email(world):
    client = Client()
    response = client.post(
        "/accounts/login/", {"username": "Ada@Northwind.Example", "password": PASSWORD}
    )
    assert response.status_code == 302
    assert session_user_id(client) == world.ada.pk


def test_pages_need_a_login_and_logout_is_a_post(world, client_for):
    response = Client().get("/o/northwind/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    client = client_for(world.ada)
    assert client.get("/accounts/logout/").status_code == 405
    assert session_user_id(client) == world.ada.pk
    response = client.post("/accounts/logout/")
    assert response.status_code == 302 and response["Location"] == "/accounts/login/"
    assert session_user_id(client) is None
    assert client.get("/o/northwind/").status_code == 302


def test_password_change(world, client_for):
    client = client_for(world.ada)
    assert client.get("/accounts/password_change/").status_code == 200
    response = client.post(
        "/accounts/password_change/",
        {"old_password": "wrong", "new_password1": GOOD_PASSWORD, "new_password2": GOOD_PASSWORD},
    )
    assert response.status_code == 200
    assert 'id="id_old_password_error"' in response.content.decode()
    response = client.post(
        "/accounts/password_change/",
        {"old_password": PASSWORD, "new_password1": "short", "new_password2": "short"},
    )
    assert response.status_code == 200
    assert 'id="id_new_password2_error"' in response.content.decode()
    response = client.post(
        "/accounts/password_change/",
        {"old_password": PASSWORD, "new_password1": GOOD_PASSWORD, "new_password2": GOOD_PASSWORD},
    )
    assert response.status_code == 302
    assert client.get(response["Location"]).status_code == 200
    world.ada.refresh_from_db()
    assert world.ada.check_password(GOOD_PASSWORD)
    assert session_user_id(client) == world.ada.pk  # still signed in


def test_password_reset_by_email(world):
    client = Client()
    assert client.get("/accounts/password_reset/").status_code == 200
    response = client.post("/accounts/password_reset/", {"email": "nobody@example.com"})
    assert response.status_code == 302
    assert mail.outbox == []  # and the page does not say whether the account exists

    response = client.post("/accounts/password_reset/", {"email": "ada@northwind.example"})
    assert response.status_code == 302
    assert client.get(response["Location"]).status_code == 200
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["ada@northwind.example"]
    match = re.search(r"http://testserver(/accounts/reset/[^/\s]+/[^/\s]+/)", mail.outbox[0].body)
    assert match, mail.outbox[0].body
    link = match.group(1)

    response = client.get(link)
    assert response.status_code == 302  # the token moves into the session
    set_password = response["Location"]
    page = client.get(set_password).content.decode()
    assert "Choose a new password" in page
    response = client.post(set_password, {"new_password1": "abc", "new_password2": "abc"})
    assert response.status_code == 200
    assert 'id="id_new_password2_error"' in response.content.decode()
    response = client.post(
        set_password, {"new_password1": GOOD_PASSWORD, "new_password2": GOOD_PASSWORD}
    )
    assert response.status_code == 302
    assert client.get(response["Location"]).status_code == 200
    world.ada.refresh_from_db()
    assert world.ada.check_password(GOOD_PASSWORD)

    assert "This link no longer works" in Client().get(link, follow=True).content.decode()
    fresh = Client()
    assert fresh.login(username="ada@northwind.example", password=GOOD_PASSWORD)
