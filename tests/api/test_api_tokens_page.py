"""The API tokens page: make a token (shown once), see it listed with its last use,
revoke it; admins see and revoke everyone's, others only their own; outsiders get 404."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from alliances.api.auth import api_token_create
from alliances.models import ApiToken, Membership
from alliances.tokens import token_hash


def url(org="northwind"):
    return reverse("api_tokens", args=[org])


def test_create_shows_the_key_once_and_stores_only_its_hash(world, client_for):
    client = client_for(world.vic)  # a viewer may make tokens: they read as a viewer
    response = client.post(url(), {"name": "BI dashboard"})
    assert response.status_code == 200
    key = response.context["new_key"]
    assert key.startswith("ck_") and key in response.content.decode()
    assert response["Cache-Control"] == "no-store"
    token = ApiToken.objects.get(name="BI dashboard")
    assert token.user == world.vic and token.organization == world.northwind
    assert token.token_hash == token_hash(key) and token.prefix == key[:10]
    again = client.get(url())
    assert key not in again.content.decode() and token.prefix in again.content.decode()

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert api.get("/api/v1/organizations/northwind/alliances/").status_code == 200
    # A viewer's token writes nothing.
    assert api.post("/api/v1/organizations/northwind/alliances/", {"name": "x"}).status_code == 403
    assert "ago" in client.get(url()).content.decode()  # last used is shown


def test_a_blank_name_is_a_400_with_the_message_at_the_field(world, client_for):
    response = client_for(world.dan).post(url(), {"name": "  "})
    assert response.status_code == 400
    assert response.context["form"].errors["name"]
    assert not ApiToken.objects.exists()


def test_revoke_own_token_and_admins_revoke_anyone_s(world, client_for):
    dan = Membership.objects.get(user=world.dan)
    token, key = api_token_create(membership=dan, name="dan's")
    vic_token, _ = api_token_create(membership=Membership.objects.get(user=world.vic), name="v")
    client = client_for(world.dan)
    page = client.get(url()).content.decode()
    assert "dan&#x27;s" in page and ">v<" not in page  # a manager sees only their own
    # Another member's token is not theirs to revoke: 404, as if it did not exist.
    response = client.post(reverse("api_token_revoke", args=["northwind", vic_token.pk]))
    assert response.status_code == 404
    client.post(reverse("api_token_revoke", args=["northwind", token.pk]))
    token.refresh_from_db()
    assert token.revoked_at is not None
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert api.get("/api/v1/organizations/").status_code == 401

    admin = client_for(world.ada)
    assert "v" in admin.get(url()).content.decode()
    admin.post(reverse("api_token_revoke", args=["northwind", vic_token.pk]))
    vic_token.refresh_from_db()
    assert vic_token.revoked_at is not None


@pytest.mark.parametrize("method", ["get", "post"])
def test_another_tenant_s_tokens_are_404(world, client_for, method):
    token, _ = api_token_create(membership=Membership.objects.get(user=world.ada), name="a")
    client = client_for(world.cy)
    assert getattr(client, method)(url()).status_code == 404
    response = client.post(reverse("api_token_revoke", args=["fabrikam", token.pk]))
    assert response.status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None
