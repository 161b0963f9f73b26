"""An alliance's trend view: its plotly charts are drawn, with nothing going wrong."""

from playwright.sync_api import expect

from tests.browser.helpers import (
    ADA,
    alliance_path,
    assert_accessible,
    assert_no_problems,
    expect_charts_drawn,
    login,
)


def test_trend_charts_are_drawn(page):
    login(page, ADA)
    page.goto(alliance_path("Connected Field Service with Contoso") + "trends/")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    expect_charts_drawn(page)
    assert_accessible(page)
    assert_no_problems(page)


def test_the_tabs_navigate_in_place_and_bring_the_charts(page):
    """The alliance tabs are htmx-boosted: no full reload, and the trend view's charts (and
    plotly, once) come along."""
    login(page, ADA)
    page.goto(alliance_path("Connected Field Service with Contoso"))
    page.evaluate("window.__sameDocument = true")
    page.locator(".subnav").get_by_role("link", name="Trends", exact=True).click()
    expect_charts_drawn(page)
    assert page.evaluate("window.__sameDocument") is True
    page.locator(".subnav").get_by_role("link", name="Health", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Health")
    page.locator(".subnav").get_by_role("link", name="Trends", exact=True).click()
    expect_charts_drawn(page)
    assert page.evaluate("window.__sameDocument") is True
    assert page.locator("script[src*='plotly-basic']").count() == 1
    assert_no_problems(page)
