"""Alliance pages: create, edit, archive, list filters, journal, triggers, partner fit."""

import pytest

from alliances import services
from alliances.models import (
    AdaptationTrigger,
    Alliance,
    AllianceModel,
    FitCriterion,
    JournalEntry,
    PartnerFitScore,
    Stage,
    Visibility,
)


def url(alliance, suffix="", org="northwind"):
    return f"/o/{org}/alliances/{alliance.pk}/{suffix}"


def alliance_data(**overrides):
    data = {
        "name": "Northwind–Adatum Analytics",
        "partner_name": "Adatum",
        "model": "coopetition",
        "strategic_importance": "4",
        "start_date": "2026-01-01",
        "renewal_date": "2027-12-31",
        "purpose": "Sell analytics to mid-market retailers together.",
        "scope_out": "No joint pricing.",
    }
    data.update(overrides)
    return data


def field_error(page: str, field: str) -> str:
    """The text of a field's first error, as _field.html renders it."""
    marker = f'id="id_{field}_error">'
    assert marker in page, f"no error on {field}"
    start = page.index(marker) + len(marker)
    return page[start : page.index("</p>", start)]


# --- create and edit -----------------------------------------------------------------------


def test_create_an_alliance(world, client_for):
    client = client_for(world.ada)
    assert client.get("/o/northwind/alliances/new/").status_code == 200
    response = client.post("/o/northwind/alliances/new/", alliance_data())
    assert response.status_code == 302
    alliance = Alliance.objects.get(name="Northwind–Adatum Analytics")
    assert response["Location"] == url(alliance)
    assert alliance.lead_organization == world.northwind
    assert alliance.partner_organization is None
    assert alliance.model == AllianceModel.COOPETITION and alliance.strategic_importance == 4
    assert alliance.stage == Stage.FORMATION and alliance.created_by == world.ada
    page = client.get(url(alliance, "profile/")).content.decode()
    assert "Sell analytics to mid-market retailers together." in page
    assert "Invite the partner" in page


def test_viewers_cannot_create_alliances(world, client_for):
    client = client_for(world.vic)
    assert client.get("/o/northwind/alliances/new/").status_code == 403
    assert client.post("/o/northwind/alliances/new/", alliance_data()).status_code == 403
    assert not Alliance.objects.filter(name="Northwind–Adatum Analytics").exists()


def test_a_duplicate_name_in_the_same_organisation_is_a_field_error(world, client_for):
    client = client_for(world.dan)
    response = client.post(
        "/o/northwind/alliances/new/", alliance_data(name="NORTHWIND–contoso CLOUD")
    )
    assert response.status_code in (200, 400)
    assert "already exists" in field_error(response.content.decode(), "name")
    assert world.northwind.led_alliances.count() == 2


def test_the_same_name_in_another_organisation_is_allowed(world, client_for):
    response = client_for(world.cy).post(
        "/o/fabrikam/alliances/new/", alliance_data(name="Northwind–Contoso Cloud")
    )
    assert response.status_code == 302
    assert Alliance.objects.filter(name__iexact="Northwind–Contoso Cloud").count() == 2


def test_renaming_to_a_duplicate_name_is_a_field_error(world, client_for):
    response = client_for(world.ada).post(
        url(world.litware, "edit/"), alliance_data(name=world.shared.name.upper())
    )
    assert response.status_code in (200, 400)
    assert "already exists" in field_error(response.content.decode(), "name")
    world.litware.refresh_from_db()
    assert world.litware.name == "Northwind–Litware Retail"


def test_renewal_before_start_is_refused(world, client_for):
    response = client_for(world.ada).post(
        "/o/northwind/alliances/new/",
        alliance_data(start_date="2026-06-01", renewal_date="2026-05-31"),
    )
    assert response.status_code in (200, 400)
    assert "cannot be before the start date" in field_error(
        response.content.decode(), "renewal_date"
    )
    assert not Alliance.objects.filter(name="Northwind–Adatum Analytics").exists()


@pytest.mark.parametrize("importance", ["0", "6", "-1", "abc", "", "3.5", "9" * 40])
def test_importance_outside_1_to_5_is_refused(world, client_for, importance):
    response = client_for(world.ada).post(
        "/o/northwind/alliances/new/", alliance_data(strategic_importance=importance)
    )
    assert response.status_code in (200, 400)
    field_error(response.content.decode(), "strategic_importance")
    assert not Alliance.objects.filter(name="Northwind–Adatum Analytics").exists()


def test_required_fields_and_bad_values_are_field_errors(world, client_for):
    response = client_for(world.ada).post(
        "/o/northwind/alliances/new/",
        {"name": "", "partner_name": "", "model": "merger", "start_date": "31/31/2026",
         "partner_email": "nobody"},
    )  # fmt: skip
    assert response.status_code in (200, 400)
    page = response.content.decode()
    for field in ("name", "partner_name", "model", "start_date", "partner_email"):
        field_error(page, field)


def test_edit_saves(world, client_for):
    client = client_for(world.dan)
    assert client.get(url(world.shared, "edit/")).status_code == 200
    data = alliance_data(name="Northwind–Contoso Cloud", strategic_importance="5")
    data["why_alliance"] = "Neither of us can build the other's half in time."
    response = client.post(url(world.shared, "edit/"), data)
    assert response.status_code == 302
    world.shared.refresh_from_db()
    assert world.shared.strategic_importance == 5
    assert world.shared.model == AllianceModel.COOPETITION
    assert world.shared.why_alliance == "Neither of us can build the other's half in time."
    # The partner has joined, so its name comes from its organisation and cannot be edited.
    assert world.shared.partner_name == "Contoso"


def test_only_the_lead_edits_unless_it_lets_the_partner(world, client_for):
    partner = client_for(world.ben)
    assert partner.get(url(world.shared, "edit/", org="contoso")).status_code == 403
    world.shared.partner_may_edit_settings = True
    world.shared.save()
    assert partner.get(url(world.shared, "edit/", org="contoso")).status_code == 200
    assert client_for(world.vic).get(url(world.shared, "edit/")).status_code == 403
    assert client_for(world.cy).get(url(world.shared, "edit/", org="fabrikam")).status_code == 404


# --- archive and the list ------------------------------------------------------------------


def test_archive_and_restore_by_the_lead(world, client_for):
    client = client_for(world.dan)
    response = client.post(url(world.litware, "archive/"), {"archive": "1"})
    assert response.status_code == 302
    world.litware.refresh_from_db()
    assert world.litware.is_archived

    listing = client.get("/o/northwind/").content.decode()
    assert "Northwind–Litware Retail" not in listing and "Northwind–Contoso Cloud" in listing
    archived = client.get("/o/northwind/?status=archived").content.decode()
    assert "Northwind–Litware Retail" in archived and "Northwind–Contoso Cloud" not in archived
    everything = client.get("/o/northwind/?status=all").content.decode()
    assert "Northwind–Litware Retail" in everything and "Northwind–Contoso Cloud" in everything

    # An archived alliance is read-only until it is restored.
    assert client.get(url(world.litware, "edit/")).status_code == 403
    response = client.post(url(world.litware, "journal/"), {"body": "x", "visibility": "shared"})
    assert response.status_code == 403

    response = client.post(url(world.litware, "archive/"), {"archive": "0"})
    assert response.status_code == 302
    world.litware.refresh_from_db()
    assert not world.litware.is_archived
    assert "Northwind–Litware Retail" in client.get("/o/northwind/").content.decode()


def test_only_the_lead_archives(world, client_for):
    assert client_for(world.ben).post(
        url(world.shared, "archive/", org="contoso"), {"archive": "1"}
    ).status_code == 403  # fmt: skip
    viewer = client_for(world.vic).post(url(world.shared, "archive/"), {"archive": "1"})
    assert viewer.status_code == 403
    assert client_for(world.ada).get(url(world.shared, "archive/")).status_code == 405
    world.shared.refresh_from_db()
    assert not world.shared.is_archived


def test_list_filters_by_stage_model_and_search(world, client_for):
    world.litware.stage = Stage.EXECUTION
    world.litware.model = AllianceModel.ECOSYSTEM
    world.litware.save()
    client = client_for(world.ada)
    both = ("Northwind–Contoso Cloud", "Northwind–Litware Retail")

    def shown(query):
        page = client.get(f"/o/northwind/{query}").content.decode()
        results = page[page.index('id="results"') :]
        return tuple(name for name in both if name in results)

    assert shown("") == both
    assert shown("?stage=3") == ("Northwind–Litware Retail",)
    assert shown("?stage=1") == ("Northwind–Contoso Cloud",)
    assert shown("?model=ecosystem") == ("Northwind–Litware Retail",)
    assert shown("?model=complementary") == ("Northwind–Contoso Cloud",)
    assert shown("?q=litware") == ("Northwind–Litware Retail",)
    assert shown("?q=CONTOSO") == ("Northwind–Contoso Cloud",)
    assert shown("?q=nothing-like-this") == ()
    # Nonsense filters are ignored, never an error.
    for garbage in ("?stage=abc", "?stage=9", "?stage=-1", "?model=x", "?status=deleted",
                    "?q=" + "x" * 10000, "?stage=%00", "?q=%00"):  # fmt: skip
        response = client.get(f"/o/northwind/{garbage}")
        assert response.status_code == 200, garbage
    assert shown("?stage=abc&model=nope") == both
    # Another organisation's alliances never appear, even by name.
    assert "Fabrikam–Wingtip" not in client.get("/o/northwind/?q=fabrikam").content.decode()


def test_list_htmx_request_renders_only_the_results(world, client_for):
    response = client_for(world.ada).get("/o/northwind/?q=litware", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="results">')
    assert "<html" not in html and 'class="filters"' not in html
    assert "Northwind–Litware Retail" in html and "Northwind–Contoso Cloud" not in html


# --- journal -------------------------------------------------------------------------------


def test_journal_add_shared_and_internal(world, client_for):
    client = client_for(world.dan)
    response = client.post(
        url(world.shared, "journal/"), {"body": "Kickoff went well.", "visibility": "shared"}
    )
    assert response.status_code == 302
    response = client.post(
        url(world.shared, "journal/"),
        {"body": "Their VP seems lukewarm.", "visibility": "internal"},
    )
    assert response.status_code == 302
    shared = JournalEntry.objects.get(body="Kickoff went well.")
    internal = JournalEntry.objects.get(body="Their VP seems lukewarm.")
    assert shared.visibility == Visibility.SHARED and shared.author == world.dan
    assert internal.visibility == Visibility.INTERNAL
    assert internal.author_organization == world.northwind
    ours = client.get(url(world.shared, "profile/")).content.decode()
    assert "Kickoff went well." in ours and "Their VP seems lukewarm." in ours
    theirs = (
        client_for(world.ben).get(url(world.shared, "profile/", org="contoso")).content.decode()
    )
    assert "Kickoff went well." in theirs and "Their VP seems lukewarm." not in theirs


def test_journal_refuses_an_empty_note_or_bad_visibility(world, client_for):
    client = client_for(world.ada)
    before = JournalEntry.objects.count()
    for data in (
        {"body": "", "visibility": "shared"},
        {"body": "   ", "visibility": "shared"},
        {"body": "Hello", "visibility": "public"},
        {},
    ):
        response = client.post(url(world.shared, "journal/"), data)
        assert response.status_code == 400, data
        assert "This field is required." in response.content.decode() or "valid choice" in (
            response.content.decode()
        )
    assert JournalEntry.objects.count() == before
    assert client_for(world.vic).post(
        url(world.shared, "journal/"), {"body": "x", "visibility": "shared"}
    ).status_code == 403  # fmt: skip


# --- adaptation triggers -------------------------------------------------------------------


def test_trigger_add_fire_and_delete(world, client_for):
    client = client_for(world.ada)
    assert client.get(url(world.shared, "triggers/new/")).status_code == 200
    response = client.post(url(world.shared, "triggers/new/"), {"condition": "", "response": ""})
    assert response.status_code in (200, 400)
    field_error(response.content.decode(), "condition")
    response = client.post(
        url(world.shared, "triggers/new/"),
        {"condition": "Subsidy changes by more than 15%", "response": "Re-run the business case"},
    )
    assert response.status_code == 302
    trigger = AdaptationTrigger.objects.get(condition="Subsidy changes by more than 15%")
    assert trigger.alliance == world.shared

    fire = url(world.shared, f"triggers/{trigger.pk}/fire/")
    assert client.get(fire).status_code == 200
    response = client.post(fire, {"note": "  "})
    assert response.status_code in (200, 400)
    field_error(response.content.decode(), "note")
    trigger.refresh_from_db()
    assert trigger.fired_at is None

    # Either side may mark it as fired: it is a shared record.
    response = client_for(world.ben).post(
        url(world.shared, f"triggers/{trigger.pk}/fire/", org="contoso"),
        {"note": "Announced today: -20%."},
    )
    assert response.status_code == 302
    trigger.refresh_from_db()
    assert trigger.fired_at is not None and trigger.fired_by == world.ben
    assert trigger.fired_note == "Announced today: -20%."
    page = client_for(world.ada).get(url(world.shared, "profile/")).content.decode()
    assert "Announced today: -20%." in page

    delete = url(world.shared, f"triggers/{trigger.pk}/delete/")
    assert client_for(world.vic).post(delete).status_code == 403
    assert client_for(world.ada).get(delete).status_code == 405
    assert client_for(world.ada).post(delete).status_code == 302
    assert not AdaptationTrigger.objects.filter(pk=trigger.pk).exists()


def test_triggers_of_another_alliance_are_404(world, client_for):
    other = world.fabrikam_alliance.adaptation_triggers.first()
    client = client_for(world.ada)
    assert client.get(url(world.shared, f"triggers/{other.pk}/fire/")).status_code == 404
    assert client.post(url(world.shared, f"triggers/{other.pk}/delete/")).status_code == 404
    assert AdaptationTrigger.objects.filter(pk=other.pk).exists()


# --- partner fit ---------------------------------------------------------------------------

FIT = {
    "strategic": "5",
    "capability": "4",
    "economic": "3",
    "operating": "4",
    "cultural": "2",
    "compliance": "5",
    "sponsorship": "4",
}


def fit_data(**overrides):
    data = {f"{criterion}_score": score for criterion, score in FIT.items()}
    data["cultural_red_flag"] = "Slow decisions on their side."
    data.update(overrides)
    return data


def test_partner_fit_needs_all_seven_criteria(world, client_for):
    client = client_for(world.ada)
    assert client.get(url(world.shared, "fit/")).status_code == 200
    data = fit_data()
    del data["economic_score"]
    response = client.post(url(world.shared, "fit/"), data)
    assert response.status_code in (200, 400)
    assert "This field is required." in response.content.decode()
    for bad in ("0", "6", "abc", ""):
        response = client.post(url(world.shared, "fit/"), fit_data(strategic_score=bad))
        assert response.status_code in (200, 400), bad
        assert "error" in response.content.decode()
    assert not PartnerFitScore.objects.filter(alliance=world.shared).exists()


def test_partner_fit_saves_and_the_detail_page_shows_total_and_weakest(world, client_for):
    client = client_for(world.dan)
    response = client.post(url(world.shared, "fit/"), fit_data())
    assert response.status_code == 302
    scores = PartnerFitScore.objects.filter(alliance=world.shared)
    assert scores.count() == len(FitCriterion.values) == 7
    assert {s.visibility for s in scores} == {Visibility.INTERNAL}
    page = client.get(url(world.shared, "profile/")).content.decode()
    fit = page[page.index('id="fit"') :]
    assert "27 <small>of 35</small>" in fit
    assert "Weakest: <strong>Cultural fit</strong> (2/5)" in fit
    assert "Slow decisions on their side." in fit

    # Saving again updates rather than duplicates.
    client.post(url(world.shared, "fit/"), fit_data(cultural_score="5", economic_score="1"))
    assert PartnerFitScore.objects.filter(alliance=world.shared).count() == 7
    page = client.get(url(world.shared, "profile/")).content.decode()
    assert "Weakest: <strong>Economic symmetry</strong> (1/5)" in page

    # One side's judgement of its partner is never shown to that partner.
    theirs = (
        client_for(world.ben).get(url(world.shared, "profile/", org="contoso")).content.decode()
    )
    assert "Slow decisions on their side." not in theirs and "Not scored yet." in theirs


# --- garbage never gives a 500 -------------------------------------------------------------


def test_garbage_input_never_yields_a_server_error(world, client_for):
    client = client_for(world.ada)
    client.raise_request_exception = True
    check = world.shared.gate_checks.first()
    trigger = world.shared.adaptation_triggers.first()
    huge = "x" * 100_000
    posts = [
        ("/o/northwind/alliances/new/", {"name": huge, "partner_name": huge, "model": huge,
                                         "strategic_importance": huge, "start_date": huge,
                                         "renewal_date": "0000-00-00", "purpose": huge,
                                         "partner_email": huge}),
        ("/o/northwind/alliances/new/", {"name": "\x00", "partner_name": "a\x00b"}),
        (url(world.shared, "contacts/new/"), {"name": "a\x00", "email": "a\x00@b.example"}),
        (url(world.shared, "journal/"), {"body": "\x00", "visibility": "shared"}),
        (url(world.shared, "triggers/new/"), {"condition": "a\x00b"}),
        (url(world.shared, "stage/advance/"), {"note": "a\x00b", "override_reason": "\x00"}),
        ("/o/northwind/settings/gates/", {"stage": "1", "text": "\x00"}),
        (url(world.shared, "edit/"), {"name": "", "strategic_importance": "1e9"}),
        (url(world.shared, "archive/"), {"archive": huge}),
        (url(world.shared, "invite-partner/"), {"email": huge}),
        (url(world.shared, "contacts/new/"), {"name": huge, "email": huge, "function": huge}),
        (url(world.shared, "triggers/new/"), {"condition": huge, "response": huge}),
        (url(world.shared, f"triggers/{trigger.pk}/fire/"), {"note": huge}),
        (url(world.shared, "fit/"), {"strategic_score": "1;--", "cultural_red_flag": huge}),
        (url(world.shared, f"gate/{check.pk}/"), {"done": huge}),
        (url(world.shared, "stage/advance/"), {"note": huge, "override_reason": huge,
                                               "outcome": "[]"}),
        (url(world.shared, "stage/back/"), {"to_stage": "abc", "reason": huge}),
        (url(world.shared, "stage/back/"), {"to_stage": "99999999999999999999", "reason": "r"}),
        (url(world.shared, "journal/"), {"body": huge, "visibility": huge}),
        ("/o/northwind/members/", {"email": huge, "role": huge}),
        (f"/o/northwind/members/{world.ada.memberships.get().pk}/role/", {"role": huge}),
        ("/o/northwind/settings/gates/", {"stage": "abc", "text": huge}),
    ]  # fmt: skip
    for path, data in posts:
        response = client.post(path, data)
        assert response.status_code < 500, path
    gets = [
        "/o/northwind/?stage=abc&model=%ff&status=%00&q=" + huge[:5000],
        "/o/northwind/?q=a%00b",
        "/o/northwind/alliances/abc/",
        "/o/northwind/alliances/99999999999999999999/",
        url(world.shared, "contacts/abc/"),
        url(world.shared, "contacts/99999999999999999999/"),
        url(world.shared, "triggers/99999999999999999999/fire/"),
        "/o/nowhere/",
        "/join/not-a-token/",
        "/partner/" + huge[:2000] + "/",
    ]
    for path in gets:
        response = client.get(path)
        assert response.status_code < 500, path
    world.shared.refresh_from_db()
    assert world.shared.stage == Stage.FORMATION


def test_an_empty_post_shows_the_required_fields_instead_of_a_blank_form(world, client_for):
    response = client_for(world.ada).post("/o/northwind/alliances/new/", {})
    assert "This field is required." in response.content.decode()
    assert not Alliance.objects.filter(name="").exists()


def test_inviting_a_lead_member_as_partner_shows_the_error_on_the_email_field(world, client_for):
    alliance = services.alliance_create(
        organization=world.northwind, user=world.ada, name="Pending one", partner_name="Adatum"
    )
    response = client_for(world.ada).post(
        f"/o/northwind/alliances/{alliance.pk}/invite-partner/", {"email": "dan@northwind.example"}
    )
    form = response.context["form"]
    assert "belongs to a member of Northwind" in " ".join(form.errors["email"])


@pytest.mark.parametrize(
    "suffix", ["edit/", "invite-partner/", "triggers/new/", "fit/", "triggers/FIRE/fire/"]
)
def test_a_form_sent_back_with_errors_answers_400_and_saves_nothing(world, client_for, suffix):
    from alliances.models import AdaptationTrigger, PartnerFitScore

    trigger = AdaptationTrigger.objects.create(alliance=world.shared, condition="A rival buys in")
    before = (
        AdaptationTrigger.objects.count(),
        PartnerFitScore.objects.count(),
        Alliance.objects.values_list("name", flat=True).get(pk=world.shared.pk),
    )
    response = client_for(world.ada).post(
        url(world.shared, suffix.replace("FIRE", str(trigger.pk))), {"name": "", "email": "x"}
    )
    assert response.status_code == 400
    assert "error" in response.content.decode()
    trigger.refresh_from_db()
    assert trigger.fired_at is None
    assert before == (
        AdaptationTrigger.objects.count(),
        PartnerFitScore.objects.count(),
        Alliance.objects.values_list("name", flat=True).get(pk=world.shared.pk),
    )


def test_creating_an_alliance_with_errors_answers_400(world, client_for):
    count = Alliance.objects.count()
    response = client_for(world.ada).post("/o/northwind/alliances/new/", {"name": ""})
    assert response.status_code == 400 and Alliance.objects.count() == count
