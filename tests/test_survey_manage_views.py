"""The managers' survey pages: rounds and results, schedules, the question bank, contacts."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from alliances.models import ContactFunction, Side
from surveys import services
from surveys.models import (
    Corner,
    Question,
    RoundKind,
    SurveyDefaults,
    SurveyRound,
    SurveySettings,
)
from tests.factories import ContactFactory, survey_answer_all, survey_round_open


def url(alliance, suffix: str = "", org: str = "northwind") -> str:
    return f"/o/{org}/alliances/{alliance.pk}/surveys/{suffix}"


def org_url(suffix: str = "", org: str = "northwind") -> str:
    return f"/o/{org}/surveys/{suffix}"


def world_round(alliance) -> SurveyRound:
    return SurveyRound.objects.get(alliance=alliance)


def run_round(alliance, *, days_ago: int, answering: dict, comment: str = "", likert: int = 4):
    """Open a scheduled round ``days_ago``; the first ``answering[side]`` invitations of each
    side answer; then it closes. Rounds 31 days apart always fall in different months."""
    opened = timezone.now() - timedelta(days=days_ago)
    survey_round = survey_round_open(alliance, now=opened)
    questions = list(survey_round.questions.all())
    for side, count in answering.items():
        for invitation in survey_round.invitations.filter(side=side).select_related("round")[
            :count
        ]:
            services.response_submit(
                invitation=invitation,
                answers={q.pk: 8 if q.is_trust else likert for q in questions},
                comment=comment,
                now=opened + timedelta(hours=1),
            )
    SurveyRound.objects.filter(pk=survey_round.pk).update(closed_at=survey_round.closes_at)
    return survey_round


@pytest.fixture
def team(world):
    """The shared alliance without its history, and 4 more contacts per side (5 each)."""
    SurveyRound.objects.filter(alliance=world.shared).delete()
    for side in (Side.LEAD, Side.PARTNER):
        ContactFactory.create_batch(4, alliance=world.shared, side=side)
    return world.shared


def body(response) -> str:
    return response.content.decode()


# --- pages, sides and the outsider ----------------------------------------------------------

ALLIANCE_PAGES = ["", "{round}/", "{round}/results.csv"]


@pytest.mark.parametrize("suffix", ALLIANCE_PAGES)
def test_alliance_pages_render_for_both_sides_and_404_for_the_outsider(world, client_for, suffix):
    suffix = suffix.format(round=world_round(world.shared).pk)
    assert client_for(world.ada).get(url(world.shared, suffix)).status_code == 200
    assert client_for(world.vic).get(url(world.shared, suffix)).status_code == 200
    assert client_for(world.ben).get(url(world.shared, suffix, "contoso")).status_code == 200
    outsider = client_for(world.cy)
    assert outsider.get(url(world.shared, suffix)).status_code == 404
    assert outsider.get(url(world.shared, suffix, "fabrikam")).status_code == 404


def test_a_round_of_another_alliance_is_404(world, client_for):
    litware_round = world_round(world.litware)
    client = client_for(world.ben)
    assert client.get(url(world.shared, f"{litware_round.pk}/", "contoso")).status_code == 404
    assert (
        client.get(url(world.shared, f"{litware_round.pk}/results.csv", "contoso")).status_code
        == 404
    )
    fabrikam_round = world_round(world.fabrikam_alliance)
    assert client_for(world.ada).get(url(world.shared, f"{fabrikam_round.pk}/")).status_code == 404


@pytest.mark.parametrize("suffix", ["", "defaults/", "questions/new/"])
def test_org_pages_404_for_the_outsider(world, client_for, suffix):
    assert client_for(world.cy).get(org_url(suffix)).status_code == 404
    assert client_for(world.ada).get(org_url(suffix)).status_code == 200


def test_tab_and_org_nav_link_to_the_survey_pages(world, client_for):
    page = body(client_for(world.ada).get(f"/o/northwind/alliances/{world.shared.pk}/"))
    assert f'href="{url(world.shared)}"' in page
    assert f'href="{org_url()}"' in page


def test_rounds_page_shows_rates_per_side_against_the_benchmark(world, client_for):
    page = body(client_for(world.ada).get(url(world.shared)))
    assert world_round(world.shared).label in page
    assert "Northwind" in page and "Contoso" in page
    assert "1 of 1" in page and "2 of 2" in page
    assert "at or above 80%" in page
    assert "A round opens each month on day 1" in page
    assert "Next scheduled round" in page


def test_rates_below_the_benchmark_say_so(team, client_for, world):
    run_round(team, days_ago=5, answering={Side.LEAD: 3, Side.PARTNER: 1})
    page = body(client_for(world.ada).get(url(team)))
    assert "4 of 10" in page and "40%" in page
    assert "3 of 5" in page and "1 of 5" in page
    assert "below 80%" in page


def test_paused_alliance_shows_paused_instead_of_the_next_round(world, client_for):
    SurveySettings.objects.create(alliance=world.shared, paused=True)
    page = body(client_for(world.ben).get(url(world.shared, org="contoso")))
    assert "paused" in page
    assert "No new rounds open" in page


def test_participation_and_failed_addresses_are_shown(world, client_for):
    ContactFactory(alliance=world.shared, side=Side.LEAD, name="Quiet Quinn", takes_pulse=False)
    ContactFactory(
        alliance=world.shared,
        side=Side.PARTNER,
        name="Gone Gail",
        pulse_unsubscribed_at=timezone.now(),
    )
    failed = ContactFactory(
        alliance=world.shared,
        side=Side.LEAD,
        name="Bounced Bob",
        email_failed_at=timezone.now(),
        email_failure="550 mailbox unavailable",
    )
    ada_page = body(client_for(world.ada).get(url(world.shared)))
    assert "Bounced Bob" in ada_page
    assert "550 mailbox unavailable" in ada_page
    assert f"/contacts/{failed.pk}/" in ada_page  # Northwind edits its own contacts
    assert "Quiet Quinn" not in ada_page and "Gone Gail" not in ada_page  # counts only
    ben_page = body(client_for(world.ben).get(url(world.shared, org="contoso")))
    assert "Bounced Bob" in ben_page
    assert f"/contacts/{failed.pk}/" not in ben_page


# --- off-cycle rounds ----------------------------------------------------------------------


def test_lead_opens_an_off_cycle_round_and_invitations_go_out(
    world, client_for, django_capture_on_commit_callbacks
):
    client = client_for(world.ada)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url(world.shared, "off-cycle/"), {"reason": "New CEO at Contoso"})
    survey_round = SurveyRound.objects.get(alliance=world.shared, kind=RoundKind.OFF_CYCLE)
    assert response.status_code == 302
    assert response["Location"] == url(world.shared, f"{survey_round.pk}/")
    assert survey_round.reason == "New CEO at Contoso"
    assert survey_round.opened_by == world.ada
    emails = set(world.shared.contacts.values_list("email", flat=True))
    assert {m.to[0] for m in mail.outbox} == emails
    page = body(client.get(url(world.shared, f"{survey_round.pk}/")))
    assert "New CEO at Contoso" in page
    assert "Results appear here when the round closes" in page

    again = client.post(url(world.shared, "off-cycle/"), {"reason": "Another event"})
    assert again.status_code == 400
    assert "A round is already open" in body(again)
    assert SurveyRound.objects.filter(alliance=world.shared, kind=RoundKind.OFF_CYCLE).count() == 1


def test_off_cycle_needs_a_reason(world, client_for):
    response = client_for(world.ada).post(url(world.shared, "off-cycle/"), {"reason": "  "})
    assert response.status_code == 400
    assert 'class="error"' in body(response)
    assert not SurveyRound.objects.filter(kind=RoundKind.OFF_CYCLE).exists()


def test_only_who_may_change_settings_opens_an_off_cycle_round(world, client_for):
    data = {"reason": "Reorganisation"}
    assert client_for(world.vic).post(url(world.shared, "off-cycle/"), data).status_code == 403
    ben = client_for(world.ben)
    assert ben.post(url(world.shared, "off-cycle/", "contoso"), data).status_code == 403
    assert "Open an extra round" not in body(ben.get(url(world.shared, org="contoso")))
    assert not SurveyRound.objects.filter(kind=RoundKind.OFF_CYCLE).exists()
    world.shared.partner_may_edit_settings = True
    world.shared.save()
    assert ben.post(url(world.shared, "off-cycle/", "contoso"), data).status_code == 302


# --- results -------------------------------------------------------------------------------


def test_an_open_round_shows_counts_but_no_scores(world, client_for):
    survey_round = survey_round_open(world.shared)
    survey_answer_all(survey_round, comment="A secret open-round comment")
    ada = client_for(world.ada)
    page = body(ada.get(url(world.shared, f"{survey_round.pk}/")))
    assert "open" in page
    assert "2 of 2" in page
    assert "Results appear here when the round closes" in page
    assert "open-round comment" not in page
    assert "Trust" not in page and "Strongly agree" not in page
    csv = body(ada.get(url(world.shared, f"{survey_round.pk}/results.csv")))
    assert "open-round comment" not in csv
    assert "Results appear when the round closes." in csv
    assert "score" not in csv


def test_too_few_responses_say_so(world, client_for):
    page = body(client_for(world.ada).get(url(world.shared, f"{world_round(world.shared).pk}/")))
    assert "Not enough responses to show results" in page
    assert "Solid month." not in page


def test_closed_round_shows_scores_distributions_and_comments(team, client_for, world):
    survey_round = run_round(
        team, days_ago=5, answering={Side.LEAD: 3, Side.PARTNER: 3}, comment="=Keep it up"
    )
    page = body(client_for(world.ada).get(url(team, f"{survey_round.pk}/")))
    assert "80.0" in page  # trust 8 of 10
    assert "75.0" in page  # every statement answered "agree" (4 of 5)
    for _, label in Corner.choices:
        assert label in page
    assert "<meter" in page and "100%" in page
    assert "Not applicable" not in page or "not applicable: 0" in page
    assert "=Keep it up" in page
    assert "not enough responses" not in page
    for question in survey_round.questions.all():
        assert question.text.replace("’", "&#x27;")[:20] in page or question.text[:20] in page
    csv = body(client_for(world.ada).get(url(team, f"{survey_round.pk}/results.csv")))
    assert "Keep it up" not in csv  # comments are single responses, not aggregates
    assert "everyone,Everyone,,trust (0-100),80.0" in csv
    assert "Strongly agree" in csv


def test_a_small_side_and_its_complement_are_hidden_but_everyone_shows(team, client_for, world):
    survey_round = run_round(team, days_ago=5, answering={Side.LEAD: 3, Side.PARTNER: 2})
    page = body(client_for(world.ada).get(url(team, f"{survey_round.pk}/")))
    by_side = page.split('id="bd-by-side"')[1].split("</section>")[0]
    assert by_side.count("not enough responses") == 2  # Contoso's 2 and, by complement, Northwind
    assert "Everyone" in page and "80.0" in page
    by_function = page.split('id="bd-by-function"')[1].split("</section>")[0]
    assert "not enough responses" not in by_function  # all five are sales
    csv = body(client_for(world.ada).get(url(team, f"{survey_round.pk}/results.csv")))
    assert "by side,Northwind,,scores,not enough responses" in csv
    assert "by side,Contoso,,scores,not enough responses" in csv


def test_thin_breakdowns_wait_for_their_block_then_show_pooled(team, client_for, world):
    first = run_round(team, days_ago=70, answering={Side.LEAD: 3, Side.PARTNER: 1})
    second = run_round(team, days_ago=36, answering={Side.LEAD: 3, Side.PARTNER: 1})
    page = body(client_for(world.ada).get(url(team, f"{second.pk}/")))
    by_side = page.split('id="bd-by-side"')[1].split("</section>")[0]
    assert "not enough responses" in by_side
    assert "when the third round of this block closes" in by_side
    third = run_round(team, days_ago=5, answering={Side.LEAD: 4, Side.PARTNER: 1})
    page = body(client_for(world.ada).get(url(team, f"{third.pk}/")))
    by_side = page.split('id="bd-by-side"')[1].split("</section>")[0]
    assert f"Pooled over 3 rounds ({first.label} to {third.label})" in by_side
    assert "not enough responses" not in by_side
    csv = body(client_for(world.ada).get(url(team, f"{third.pk}/results.csv")))
    assert "Pooled over 3 rounds" in csv


def test_both_sides_see_the_same_results(team, client_for, world):
    survey_round = run_round(team, days_ago=5, answering={Side.LEAD: 4, Side.PARTNER: 3})
    suffix = f"{survey_round.pk}/"

    def results(page):
        return page.split('id="rate-heading"')[1].split("</main>")[0]

    ada = results(body(client_for(world.ada).get(url(team, suffix))))
    ben = results(body(client_for(world.ben).get(url(team, suffix, "contoso"))))
    assert ada == ben
    ada_csv = client_for(world.ada).get(url(team, suffix + "results.csv")).content
    ben_csv = client_for(world.ben).get(url(team, suffix + "results.csv", "contoso")).content
    assert ada_csv == ben_csv


def test_nothing_ties_a_contact_to_answering(team, client_for, world):
    ContactFactory(alliance=team, side=Side.LEAD, function=ContactFunction.LEGAL_FINANCE)
    survey_round = run_round(team, days_ago=5, answering={Side.LEAD: 6, Side.PARTNER: 4})
    client = client_for(world.ada)
    pages = [
        body(client.get(url(team, f"{survey_round.pk}/"))),
        body(client.get(url(team, f"{survey_round.pk}/results.csv"))),
    ]
    for contact in team.contacts.all():
        for page in pages:
            assert contact.email not in page
            assert contact.name not in page
    rounds_page = body(client.get(url(team)))
    for contact in team.contacts.all():
        assert contact.email not in rounds_page
        assert contact.name not in rounds_page


def test_csv_is_formula_safe(team, client_for, world):
    team.partner_name = "=HYPERLINK(1)"
    team.partner_organization = None
    team.save()
    survey_round = run_round(team, days_ago=5, answering={Side.LEAD: 3, Side.PARTNER: 3})
    csv = body(client_for(world.ada).get(url(team, f"{survey_round.pk}/results.csv")))
    assert ",=HYPERLINK" not in csv
    assert "'=HYPERLINK(1)" in csv


# --- the alliance's settings ------------------------------------------------------------------

GOOD_SETTINGS = {
    "cadence": "quarterly",
    "open_day": "5",
    "window_days": "14",
    "reminder_days": "3, 7",
    "paused": "on",
}


def test_settings_round_trip(world, client_for):
    client = client_for(world.ada)
    page = body(client.get(url(world.shared, "settings/")))
    assert "Organisation default (Monthly)" in page
    response = client.post(url(world.shared, "settings/"), GOOD_SETTINGS)
    assert response.status_code == 302
    own = SurveySettings.objects.get(alliance=world.shared)
    assert (own.cadence, own.open_day, own.window_days, own.reminder_days, own.paused) == (
        "quarterly",
        5,
        14,
        [3, 7],
        True,
    )
    assert own.updated_by == world.ada
    page = body(client.get(url(world.shared, "settings/")))
    assert 'value="3, 7"' in page and 'value="14"' in page
    rounds_page = body(client.get(url(world.shared)))
    assert "A round opens each quarter on day 5 and stays open 14 days" in rounds_page
    assert "paused" in rounds_page

    empty = {"cadence": "", "open_day": "", "window_days": "", "reminder_days": ""}
    assert client.post(url(world.shared, "settings/"), empty).status_code == 302
    own.refresh_from_db()
    assert (own.cadence, own.open_day, own.window_days, own.reminder_days, own.paused) == (
        "",
        None,
        None,
        None,
        False,
    )
    assert services.alliance_schedule(world.shared) == services.DEFAULT_SCHEDULE

    client.post(url(world.shared, "settings/"), {**empty, "reminder_days": "none"})
    own.refresh_from_db()
    assert own.reminder_days == []


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("open_day", "0", "from 1 to 28"),
        ("open_day", "31", "from 1 to 28"),
        ("window_days", "1", "2 to 28"),
        ("reminder_days", "3, x", "“x” is not a whole number"),
        ("reminder_days", "3, 16", "outside the round"),
    ],
)
def test_bad_settings_show_field_errors_and_save_nothing(world, client_for, field, value, message):
    response = client_for(world.ada).post(
        url(world.shared, "settings/"), {**GOOD_SETTINGS, field: value}
    )
    assert response.status_code == 400
    page = body(response)
    assert f'id="id_{field}_error"' in page
    assert message in page
    assert not SurveySettings.objects.filter(alliance=world.shared).exists()


def test_reminders_must_fit_the_default_window_when_days_open_is_empty(world, client_for):
    data = {**GOOD_SETTINGS, "window_days": "", "reminder_days": "12"}
    response = client_for(world.ada).post(url(world.shared, "settings/"), data)
    assert response.status_code == 400
    assert "open for 10 days" in body(response)


def test_default_reminders_must_fit_a_shorter_window(world, client_for):
    data = {**GOOD_SETTINGS, "window_days": "5", "reminder_days": ""}
    response = client_for(world.ada).post(url(world.shared, "settings/"), data)
    assert response.status_code == 400
    assert "The default reminders (3, 7) do not fit a round open for 5 days" in body(response)
    assert not SurveySettings.objects.exists()


def test_settings_permissions(world, client_for):
    assert client_for(world.vic).get(url(world.shared, "settings/")).status_code == 403
    assert (
        client_for(world.vic).post(url(world.shared, "settings/"), GOOD_SETTINGS).status_code == 403
    )
    ben = client_for(world.ben)
    assert ben.get(url(world.shared, "settings/", "contoso")).status_code == 403
    assert ben.post(url(world.shared, "settings/", "contoso"), GOOD_SETTINGS).status_code == 403
    assert not SurveySettings.objects.exists()
    world.shared.partner_may_edit_settings = True
    world.shared.save()
    assert ben.post(url(world.shared, "settings/", "contoso"), GOOD_SETTINGS).status_code == 302
    assert SurveySettings.objects.get(alliance=world.shared).updated_by == world.ben
    assert client_for(world.cy).get(url(world.shared, "settings/")).status_code == 404


# --- the organisation's defaults ---------------------------------------------------------------

GOOD_DEFAULTS = {"cadence": "bimonthly", "open_day": "3", "window_days": "12", "reminder_days": "4"}


def test_defaults_round_trip_and_reach_the_alliances(world, client_for):
    client = client_for(world.ada)
    assert client.post(org_url("defaults/"), GOOD_DEFAULTS).status_code == 302
    defaults = SurveyDefaults.objects.get(organization=world.northwind)
    assert (defaults.cadence, defaults.open_day, defaults.window_days, defaults.reminder_days) == (
        "bimonthly",
        3,
        12,
        [4],
    )
    page = body(client.get(org_url("defaults/")))
    assert 'value="4"' in page and 'value="12"' in page
    assert "every two months on day 3" in body(client.get(org_url()))
    assert "every two months on day 3" in body(client.get(url(world.shared)))
    assert "Organisation default (Every two months)" in body(
        client.get(url(world.shared, "settings/"))
    )
    assert (
        client.post(org_url("defaults/"), {**GOOD_DEFAULTS, "reminder_days": ""}).status_code == 302
    )
    defaults.refresh_from_db()
    assert defaults.reminder_days == []


@pytest.mark.parametrize(
    ("field", "value"),
    [("open_day", "0"), ("open_day", "31"), ("reminder_days", "3, x"), ("reminder_days", "20")],
)
def test_bad_defaults_show_field_errors(world, client_for, field, value):
    response = client_for(world.ada).post(org_url("defaults/"), {**GOOD_DEFAULTS, field: value})
    assert response.status_code == 400
    assert f'id="id_{field}_error"' in body(response)
    assert not SurveyDefaults.objects.exists()


@pytest.mark.parametrize("user", ["dan", "vic"])
def test_only_admins_change_defaults_but_members_see_them(world, client_for, user):
    client = client_for(getattr(world, user))
    page = body(client.get(org_url("defaults/")))
    assert "Only organisation admins can change these defaults" in page
    assert "disabled" in page
    assert client.post(org_url("defaults/"), GOOD_DEFAULTS).status_code == 403
    assert not SurveyDefaults.objects.exists()


# --- the question bank -----------------------------------------------------------------------


def test_bank_lists_items_by_corner_with_stages_and_rounds(world, client_for):
    page = body(client_for(world.vic).get(org_url()))
    asked = Question.objects.filter(organization=world.northwind, asked__isnull=False).first()
    assert asked.text.split("’")[0] in page
    for _, label in Corner.choices:
        assert label in page
    assert "Formation" in page
    rounds = asked.asked.count()
    assert f"{rounds} round{'s' if rounds > 1 else ''}</td>" in page
    assert "questions/new/" not in page and "/retire/" not in page  # read-only for viewers


def test_a_partner_organisation_gets_its_own_bank(world, client_for):
    assert not Question.objects.filter(organization=world.contoso).exists()
    assert client_for(world.ben).get(org_url(org="contoso")).status_code == 200
    assert Question.objects.filter(organization=world.contoso).count() > 8


def test_add_and_edit_an_item(world, client_for):
    client = client_for(world.dan)
    data = {
        "corner": "relational",
        "text": "  People here  admit mistakes early. ",
        "stages": ["1", "3"],
    }
    assert client.post(org_url("questions/new/"), data).status_code == 302
    question = Question.objects.get(
        organization=world.northwind, text="People here admit mistakes early."
    )
    assert (question.corner, question.stages, question.created_by) == (
        "relational",
        [1, 3],
        world.dan,
    )
    assert question.text in body(client.get(org_url()))
    response = client.post(
        org_url(f"questions/{question.pk}/"),
        {"corner": "relational", "text": "We admit mistakes early.", "stages": ["2"]},
    )
    assert response.status_code == 302
    question.refresh_from_db()
    assert (question.text, question.stages) == ("We admit mistakes early.", [2])


def test_adding_needs_a_stage_and_no_duplicate(world, client_for):
    client = client_for(world.ada)
    response = client.post(org_url("questions/new/"), {"corner": "value", "text": "Fair split."})
    assert response.status_code == 400
    assert "Pick at least one stage" in body(response)
    existing = Question.objects.filter(organization=world.northwind).first()
    response = client.post(
        org_url("questions/new/"),
        {"corner": "value", "text": existing.text.upper(), "stages": ["1"]},
    )
    assert response.status_code == 400
    assert "already has this statement" in body(response)


def test_an_asked_item_cannot_be_reworded(world, client_for):
    asked = Question.objects.filter(organization=world.northwind, asked__isnull=False).first()
    client = client_for(world.ada)
    page = body(client.get(org_url(f"questions/{asked.pk}/")))
    assert "cannot change" in page
    response = client.post(
        org_url(f"questions/{asked.pk}/"),
        {"corner": asked.corner, "text": "Something else entirely.", "stages": ["1"]},
    )
    assert response.status_code == 400
    assert "Retire it and add a new one" in body(response)
    asked.refresh_from_db()
    assert asked.text != "Something else entirely."


def test_retire_and_restore(world, client_for):
    client = client_for(world.dan)
    question = Question.objects.filter(organization=world.northwind, corner="value").last()
    response = client.post(org_url(f"questions/{question.pk}/retire/"), follow=True)
    question.refresh_from_db()
    assert question.is_retired
    page = body(response)
    assert "Retired:" in page
    retired_section = page.split('id="retired-heading"')[1]
    assert question.text.split("’")[0] in retired_section
    client.post(org_url(f"questions/{question.pk}/restore/"))
    question.refresh_from_db()
    assert not question.is_retired


def test_cannot_retire_below_two_per_corner(world, client_for):
    in_use = list(Question.objects.filter(organization=world.northwind, corner="strategic"))
    now = timezone.now()
    for question in in_use[2:]:
        services.question_retire(question=question, now=now)
    response = client_for(world.ada).post(org_url(f"questions/{in_use[0].pk}/retire/"), follow=True)
    assert "keep at least that many in use" in body(response)
    in_use[0].refresh_from_db()
    assert not in_use[0].is_retired


def test_viewers_cannot_change_the_bank(world, client_for):
    client = client_for(world.vic)
    question = Question.objects.filter(organization=world.northwind).last()
    data = {"corner": "value", "text": "A new one.", "stages": ["1"]}
    assert client.get(org_url("questions/new/")).status_code == 403
    assert client.post(org_url("questions/new/"), data).status_code == 403
    assert client.post(org_url(f"questions/{question.pk}/"), data).status_code == 403
    assert client.post(org_url(f"questions/{question.pk}/retire/")).status_code == 403
    assert not Question.objects.filter(text="A new one.").exists()
    question.refresh_from_db()
    assert not question.is_retired


def test_another_organisations_item_is_404(world, client_for):
    question = Question.objects.filter(organization=world.northwind).first()
    client = client_for(world.cy)
    for suffix in ("", "retire/", "restore/"):
        assert (
            client.post(org_url(f"questions/{question.pk}/{suffix}", "fabrikam")).status_code == 404
        )
    assert client.get(org_url(f"questions/{question.pk}/", "fabrikam")).status_code == 404
    assert client.get(org_url(f"questions/{question.pk}/")).status_code == 404


# --- contacts --------------------------------------------------------------------------------


def test_contacts_show_survey_status(world, client_for):
    ContactFactory(alliance=world.shared, side=Side.LEAD, name="Quiet Quinn", takes_pulse=False)
    ContactFactory(
        alliance=world.shared,
        side=Side.PARTNER,
        name="Gone Gail",
        pulse_unsubscribed_at=timezone.now(),
    )
    ContactFactory(
        alliance=world.shared,
        side=Side.LEAD,
        name="Bounced Bob",
        email_failed_at=timezone.now(),
        email_failure="550 mailbox unavailable",
    )
    page = body(client_for(world.ben).get(f"/o/contoso/alliances/{world.shared.pk}/contacts/"))
    assert "not surveyed" in page
    assert "unsubscribed" in page
    assert "email failed" in page
    assert 'title="550 mailbox unavailable"' in page
    assert "Email failed: 550 mailbox unavailable" in page


def test_contact_form_sets_takes_pulse_and_explains_unsubscribing(world, client_for):
    contact = world.shared.contacts.get(side=Side.LEAD)
    contact.pulse_unsubscribed_at = timezone.now()
    contact.save()
    client = client_for(world.ada)
    edit = f"/o/northwind/alliances/{world.shared.pk}/contacts/{contact.pk}/"
    page = body(client.get(edit))
    assert "takes_pulse" in page
    assert "Only they can sign up again" in page
    data = {"name": contact.name, "email": contact.email, "function": "sales", "is_active": "on"}
    assert client.post(edit, data).status_code == 302
    contact.refresh_from_db()
    assert contact.takes_pulse is False
    assert contact.pulse_unsubscribed_at is not None  # managers cannot re-subscribe anyone
    client.post(edit, {**data, "takes_pulse": "on"})
    contact.refresh_from_db()
    assert contact.takes_pulse is True
    assert contact.pulse_unsubscribed_at is not None


def test_a_corrected_address_is_tried_again(world, client_for):
    contact = world.shared.contacts.get(side=Side.LEAD)
    contact.email_failed_at = timezone.now()
    contact.email_failure = "550 no such user"
    contact.save()
    client = client_for(world.ada)
    edit = f"/o/northwind/alliances/{world.shared.pk}/contacts/{contact.pk}/"
    assert "550 no such user" in body(client.get(edit))
    data = {
        "name": "Renamed",
        "email": contact.email.upper(),
        "function": "sales",
        "is_active": "on",
        "takes_pulse": "on",
    }
    client.post(edit, data)
    contact.refresh_from_db()
    assert contact.name == "Renamed"
    assert contact.email_failed_at is not None  # same address: still failing
    client.post(edit, {**data, "email": "fixed@northwind.example"})
    contact.refresh_from_db()
    assert (contact.email, contact.email_failed_at, contact.email_failure) == (
        "fixed@northwind.example",
        None,
        "",
    )
