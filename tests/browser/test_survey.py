"""The pulse survey as a partner's contact meets it: an emailed link opened on a phone."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import (
    PHONE,
    assert_accessible,
    assert_no_problems,
    unused_survey_link,
)


@pytest.fixture
def survey_link(demo) -> str:
    """A link from the demo's outbox whose invitation is open and not answered yet."""
    link = unused_survey_link(demo)
    assert link, "the demo's open round left no unused survey link in the outbox"
    return link


def test_answering_on_a_phone(new_page, survey_link):
    page = new_page(**PHONE)
    page.goto(survey_link)
    # The token leaves the address bar: the page lives under a random slot.
    expect(page).to_have_url(re.compile(r"/s/a/[\w-]+/$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("How is")
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390, (
        "the survey scrolls sideways on a 390 px wide phone"
    )
    assert_accessible(page)

    questions = page.locator("fieldset.question")
    assert questions.count() >= 9  # the trust anchor and two statements per corner
    for question in questions.all():
        trust = "trust" in (question.get_attribute("class") or "")
        question.get_by_role("radio", name="8" if trust else "Agree", exact=True).check()
    page.locator("textarea[name=comment]").fill("Clear owners this month; keep it up.")
    page.get_by_role("button", name="Send my answers").click()

    expect(page).to_have_url(re.compile(r"/s/done/$"))
    expect(page.get_by_role("heading", name="Thank you")).to_be_visible()
    assert_accessible(page)
    assert_no_problems(page)


def test_sending_nothing_lists_the_questions_to_answer(new_page, survey_link):
    page = new_page(**PHONE)
    page.goto(survey_link)
    expect(page).to_have_url(re.compile(r"/s/a/[\w-]+/$"))
    page.get_by_role("button", name="Send my answers").click()
    # Nothing answered: the page says what is missing, and takes the reader there.
    expect(page.get_by_role("alert")).to_contain_text("Please check")
    assert_accessible(page)
    assert_no_problems(page)
