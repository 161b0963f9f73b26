"""The API's test clients: a token of a real member, sent as a Bearer header."""

import pytest
from rest_framework.test import APIClient

from alliances.api.auth import api_token_create
from alliances.models import Membership


@pytest.fixture
def api_for(db):
    """``api_for(user, org)``: an API client holding a new token of that membership."""

    def make(user, organization):
        membership = Membership.objects.get(user=user, organization=organization)
        _, key = api_token_create(membership=membership, name="test")
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
        return client

    return make


def v1(path: str) -> str:
    return f"/api/v1/{path}"
