"""The operator admin covers every model; people in several organisations can switch."""

import pytest
from django.apps import apps
from django.contrib import admin

from alliances.models import Membership, Role
from tests.factories import UserFactory, member

PROJECT_APPS = ("alliances", "governance", "surveys", "scorecards")


def project_models():
    return [m for app in PROJECT_APPS for m in apps.get_app_config(app).get_models()]


def test_every_project_model_is_in_the_admin():
    missing = [m.__name__ for m in project_models() if m not in admin.site._registry]
    assert missing == []


@pytest.mark.parametrize("model", project_models(), ids=lambda m: m.__name__)
def test_admin_lists_are_searchable_and_show_the_tenant(world, client, model):
    model_admin = admin.site._registry[model]
    assert model_admin.search_fields, f"{model.__name__} admin has no search"
    superuser = UserFactory(email="root@concord.example", is_staff=True, is_superuser=True)
    client.force_login(superuser)
    url = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
    response = client.get(url, {"q": "Northwind"})
    assert response.status_code == 200
    tenant_columns = {
        "organization",
        "lead_organization",
        "author_organization",
        "partner_organization",
    }
    tenant_owned = any(
        f.name in ("organization", "alliance", "lead_organization") for f in model._meta.fields
    )
    if tenant_owned:
        assert tenant_columns & set(model_admin.list_display), (
            f"{model.__name__} admin list does not show its organisation"
        )


def test_a_person_in_two_organisations_can_switch(world, client_for):
    member(world.ben, world.northwind, Role.VIEWER)
    client = client_for(world.ben)
    page = client.get("/o/contoso/").content.decode()
    assert 'href="/o/northwind/portfolio/"' in page and 'href="/o/contoso/portfolio/"' in page
    # "/" goes to the portfolio of the organisation used last.
    assert client.get("/o/northwind/").status_code == 200
    assert client.get("/").url == "/o/northwind/portfolio/"
    assert client.get("/o/contoso/").status_code == 200
    assert client.get("/").url == "/o/contoso/portfolio/"


def test_a_person_without_an_organisation_is_told_how_to_get_in(db, client):
    lonely = UserFactory(email="lonely@example.com")
    assert not Membership.objects.filter(user=lonely).exists()
    client.force_login(lonely)
    response = client.get("/")
    assert response.status_code == 200
    assert "not in an organisation yet" in response.content.decode()
