"""The portfolio as a Northwind admin uses it: filter it in place, see the importance × health
matrix, open an alliance's one-pager, print it."""

import re
from urllib.parse import parse_qs, urlsplit

from playwright.sync_api import expect

from tests.browser.helpers import (
    ADA,
    assert_accessible,
    assert_no_problems,
    assert_not_reloaded,
    expect_charts_drawn,
    login,
    mark_window,
    pdf_pages,
)

PORTFOLIO = "/o/northwind/portfolio/"


def mark_results(page) -> None:
    """Mark the results, which htmx replaces: once the mark is gone, the new ones are in."""
    page.evaluate("() => { document.getElementById('portfolio-results').dataset.old = '1'; }")


def query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


def test_filter_in_place_then_open_a_one_pager(page):
    login(page, ADA)
    page.goto(PORTFOLIO)
    rows = page.locator("#portfolio-results tr[data-alliance]")
    expect(rows.first).to_be_visible()
    everything = rows.count()
    expect_charts_drawn(page, "#matrix [data-figure]")
    assert_accessible(page)

    mark_window(page)
    mark_results(page)
    page.locator("form#portfolio-filters select[name=stage]").select_option("3")
    page.wait_for_url(lambda url: query(url).get("stage") == ["3"])
    expect(page.locator("#portfolio-results[data-old]")).to_have_count(0)
    expect(rows.first).to_be_visible()
    assert rows.count() < everything
    expect(rows.filter(has_text="Connected Field Service")).to_have_count(0)
    expect_charts_drawn(page, "#matrix [data-figure]")
    assert_not_reloaded(page)

    first = rows.first
    alliance_id = first.get_attribute("data-alliance")
    first.get_by_role("link").first.click()
    expect(page).to_have_url(re.compile(rf"/o/northwind/alliances/{alliance_id}/$"))
    assert_no_problems(page)


def test_every_filter_answers_in_place(page):
    login(page, ADA)
    page.goto(PORTFOLIO)
    expect_charts_drawn(page, "#matrix [data-figure]")
    mark_window(page)
    for name in ("model", "light", "importance", "partner", "sort"):
        field = page.locator(f"form#portfolio-filters select[name={name}]")
        values = field.locator("option").evaluate_all("options => options.map(o => o.value)")
        choice = [value for value in values if value][-1]
        mark_results(page)
        field.select_option(choice)
        page.wait_for_url(lambda url, name=name, choice=choice: query(url).get(name) == [choice])
        expect(page.locator("#portfolio-results[data-old]")).to_have_count(0)
        expect(page.locator("#portfolio-results")).to_be_visible()
        expect_charts_drawn(page, "#matrix [data-figure]")
    assert_not_reloaded(page)
    assert_no_problems(page)


def test_prints_on_one_a4_page(page):
    login(page, ADA)
    page.goto(PORTFOLIO)
    expect_charts_drawn(page, "#matrix [data-figure]")
    assert pdf_pages(page, "A4") == 1
    assert_no_problems(page)
