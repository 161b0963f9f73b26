"""Signing in through the form and finding one's alliances, in a real browser."""

import re
from urllib.parse import parse_qs, urlsplit

from playwright.sync_api import expect

from tests.browser.helpers import (
    ADA,
    assert_accessible,
    assert_no_problems,
    assert_not_reloaded,
    login,
    mark_window,
)


def test_a_wrong_password_is_refused_and_the_right_one_signs_in(page):
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(ADA)
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("do not match")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    assert_accessible(page)
    login(page, ADA)
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    assert_no_problems(page)


def test_the_alliance_list_filters_in_place(page):
    login(page, ADA)
    page.goto("/o/northwind/")
    expect(page.get_by_role("heading", name="Alliances")).to_be_visible()
    rows = page.locator("#results tbody tr")
    expect(rows.filter(has_text="Connected Field Service")).to_have_count(1)
    everything = rows.count()
    assert_accessible(page)

    mark_window(page)
    page.get_by_role("combobox", name="Stage").select_option(label="3. Execution")
    page.wait_for_url(lambda url: parse_qs(urlsplit(url).query).get("stage") == ["3"])
    expect(rows.filter(has_text="Connected Field Service")).to_have_count(0)
    expect(rows.filter(has_text="Litware Planner Academy")).to_have_count(1)
    assert 1 <= rows.count() < everything
    assert_not_reloaded(page)
    assert_no_problems(page)
