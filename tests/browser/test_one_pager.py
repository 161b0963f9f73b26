"""An alliance's one-pager (its home page): Northwind's admin acknowledges an alert in place;
the admin, Contoso's manager (the partner) and Northwind's viewer (without buttons) each get a
page without accessibility faults; it prints on exactly one page of A4 and of Letter."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import (
    ADA,
    BEN,
    SAM,
    alliance_path,
    assert_accessible,
    assert_no_problems,
    assert_not_reloaded,
    expect_charts_drawn,
    login,
    mark_window,
    pdf_pages,
)

# Declining in the demo: red corners and open alerts.
DECLINING = "Connected Field Service with Contoso"


def open_one_pager(page, user: str, organization: str) -> str:
    login(page, user)
    path = alliance_path(DECLINING, organization)
    page.goto(path)
    expect(page.get_by_role("heading", level=1)).to_contain_text("Connected Field Service")
    expect(page.locator("#alerts li[data-alert]").first).to_be_visible()
    expect_charts_drawn(page, at_least=0)
    return path


def test_admin_acknowledges_an_alert_in_place(page):
    path = open_one_pager(page, ADA, "northwind")
    acknowledge = page.get_by_role("button", name="Acknowledge")
    alert = page.locator("#alerts li[data-alert]").filter(has=acknowledge).first
    alert_id = alert.get_attribute("data-alert")
    mark_window(page)
    alert.get_by_role("button", name="Acknowledge").click()
    swapped = page.locator(f'#alerts li[data-alert="{alert_id}"]')
    expect(swapped).to_contain_text("acknowledged", ignore_case=True)
    expect(swapped.get_by_role("button", name="Acknowledge")).to_have_count(0)
    expect(page).to_have_url(re.compile(rf"{re.escape(path)}$"))
    assert_not_reloaded(page)
    assert_no_problems(page)


@pytest.mark.parametrize("paper", ["A4", "Letter"])
def test_prints_on_exactly_one_page(page, paper):
    open_one_pager(page, ADA, "northwind")
    assert pdf_pages(page, paper) == 1
    assert_no_problems(page)


@pytest.mark.parametrize(
    "user, organization, may_act",
    [(ADA, "northwind", True), (BEN, "contoso", None), (SAM, "northwind", False)],
    ids=["admin", "partner", "viewer"],
)
def test_each_reader_gets_an_accessible_page(page, user, organization, may_act):
    open_one_pager(page, user, organization)
    acknowledge = page.get_by_role("button", name="Acknowledge")
    if may_act:
        expect(acknowledge.first).to_be_visible()
    elif may_act is False:  # a viewer reads, and changes nothing
        expect(acknowledge).to_have_count(0)
    assert_accessible(page)
    assert_no_problems(page)
