"""The lifecycle: gates, moving forward and back, leaving stage 5, and the history."""

import pytest
from django.core.exceptions import ValidationError

from alliances import services
from alliances.models import (
    AllianceGateCheck,
    GateItem,
    LessonsLearned,
    Outcome,
    Stage,
    StageTransition,
)

LESSONS = {
    "what_worked": "Joint account planning.",
    "what_did_not": "Quarterly steering slipped.",
    "lead_would_change": "Name a delivery lead earlier.",
    "partner_would_change": "Share the roadmap sooner.",
    "joint_customers": "Each side keeps the customers it brought.",
    "intellectual_property": "Each side keeps its own; joint assets are licensed to both.",
    "data": "Shared data deleted within 30 days.",
}


def url(alliance, suffix="", org="northwind"):
    return f"/o/{org}/alliances/{alliance.pk}/{suffix}"


def tick_all(alliance, user, stage=None):
    for check in alliance.gate_checks.filter(stage=stage or alliance.stage):
        services.gate_check_set(check=check, done=True, user=user)


def advance(world, alliance, **kwargs):
    kwargs.setdefault("note", "Ready.")
    return services.stage_advance(
        alliance=alliance, user=world.ada, organization=world.northwind, **kwargs
    )


def move_to(world, alliance, stage):
    """Advance with every gate met until the alliance is in ``stage``."""
    while alliance.stage < stage:
        tick_all(alliance, world.ada)
        advance(world, alliance)
        alliance.refresh_from_db()


# --- services ------------------------------------------------------------------------------


def test_a_new_alliance_starts_in_formation_with_its_gate_and_a_first_history_entry(world):
    alliance = world.shared
    assert alliance.stage == Stage.FORMATION
    assert alliance.gate_checks.filter(stage=Stage.FORMATION).count() == 5
    (created,) = StageTransition.objects.filter(alliance=alliance)
    assert created.from_stage is None and created.to_stage == Stage.FORMATION


def test_advance_with_every_gate_met_records_who_when_note_and_checklist(world):
    alliance = world.shared
    tick_all(alliance, world.dan)
    transition = advance(world, alliance, note="  Purpose agreed by both sides.  ")
    alliance.refresh_from_db()
    assert alliance.stage == Stage.GOVERNANCE
    assert transition.from_stage == Stage.FORMATION and transition.to_stage == Stage.GOVERNANCE
    assert transition.note == "Purpose agreed by both sides."
    assert transition.by_user == world.ada and transition.by_organization == world.northwind
    assert transition.override_reason == ""
    assert len(transition.checklist) == 5
    assert all(item["done"] for item in transition.checklist)
    # Entering governance copies its gate.
    assert alliance.gate_checks.filter(stage=Stage.GOVERNANCE).count() == 5


def test_advance_without_a_note_is_refused(world):
    tick_all(world.shared, world.ada)
    with pytest.raises(ValidationError) as error:
        advance(world, world.shared, note="   ")
    assert "note" in error.value.message_dict
    world.shared.refresh_from_db()
    assert world.shared.stage == Stage.FORMATION


def test_an_unmet_gate_item_needs_an_override_reason(world):
    alliance = world.shared
    checks = list(alliance.gate_checks.filter(stage=Stage.FORMATION))
    for check in checks[:-1]:
        services.gate_check_set(check=check, done=True, user=world.ada)
    with pytest.raises(ValidationError) as error:
        advance(world, alliance, note="Moving on.", override_reason="  ")
    assert "override_reason" in error.value.message_dict
    alliance.refresh_from_db()
    assert alliance.stage == Stage.FORMATION

    transition = advance(
        world, alliance, note="Moving on.", override_reason="Exit talk next month."
    )
    assert transition.override_reason == "Exit talk next month."
    assert transition.unmet_items == [checks[-1].text]
    assert [item["done"] for item in transition.checklist] == [True, True, True, True, False]


def test_an_override_reason_is_not_recorded_when_every_item_is_met(world):
    tick_all(world.shared, world.ada)
    transition = advance(world, world.shared, override_reason="Not needed.")
    assert transition.override_reason == ""


def test_moving_back_needs_a_reason_and_an_earlier_stage(world):
    alliance = world.shared
    move_to(world, alliance, Stage.EXECUTION)
    kwargs = {"alliance": alliance, "user": world.ada, "organization": world.northwind}
    with pytest.raises(ValidationError) as error:
        services.stage_back(**kwargs, to_stage=Stage.GOVERNANCE, reason=" ")
    assert "reason" in error.value.message_dict
    for to_stage in (Stage.EXECUTION, Stage.EVALUATION, 0, 9):
        with pytest.raises(ValidationError) as error:
            services.stage_back(**kwargs, to_stage=to_stage, reason="Because.")
        assert "to_stage" in error.value.message_dict
    alliance.refresh_from_db()
    assert alliance.stage == Stage.EXECUTION

    transition = services.stage_back(**kwargs, to_stage=Stage.FORMATION, reason="Scope unclear.")
    alliance.refresh_from_db()
    assert alliance.stage == Stage.FORMATION
    assert transition.is_backward and transition.note == "Scope unclear."


def test_leaving_stage_5_needs_an_outcome(world):
    alliance = world.shared
    move_to(world, alliance, Stage.RENEWAL_EXIT)
    tick_all(alliance, world.ada)
    for outcome in ("", "abandoned"):
        with pytest.raises(ValidationError) as error:
            advance(world, alliance, outcome=outcome)
        assert "outcome" in error.value.message_dict
    alliance.refresh_from_db()
    assert alliance.stage == Stage.RENEWAL_EXIT and alliance.outcome == ""


def test_an_exit_needs_lessons_learned_and_closes_the_alliance(world):
    alliance = world.shared
    move_to(world, alliance, Stage.RENEWAL_EXIT)
    tick_all(alliance, world.ada)
    with pytest.raises(ValidationError) as error:
        advance(world, alliance, outcome=Outcome.EXITED)
    assert "lessons" in error.value.message_dict
    assert not LessonsLearned.objects.filter(alliance=alliance).exists()

    transition = advance(
        world,
        alliance,
        note="Wound down.",
        outcome=Outcome.EXITED,
        lessons=LessonsLearned(**LESSONS),
    )
    alliance.refresh_from_db()
    assert transition.outcome == Outcome.EXITED
    assert alliance.is_closed
    lessons = LessonsLearned.objects.get(alliance=alliance)
    assert lessons.what_worked == LESSONS["what_worked"] and lessons.recorded_by == world.ada

    with pytest.raises(ValidationError):
        advance(world, alliance, outcome=Outcome.RENEWED)
    with pytest.raises(ValidationError):
        services.stage_back(
            alliance=alliance,
            user=world.ada,
            organization=world.northwind,
            to_stage=Stage.EVALUATION,
            reason="Second thoughts.",
        )
    alliance.refresh_from_db()
    assert alliance.is_closed and alliance.stage == Stage.RENEWAL_EXIT


def test_renewed_goes_back_to_execution_with_fresh_gate_items(world):
    alliance = world.shared
    move_to(world, alliance, Stage.RENEWAL_EXIT)
    assert all(c.is_done for c in alliance.gate_checks.filter(stage=Stage.EXECUTION))
    tick_all(alliance, world.ada)
    transition = advance(world, alliance, note="Another two years.", outcome=Outcome.RENEWED)
    alliance.refresh_from_db()
    assert alliance.stage == Stage.EXECUTION and alliance.outcome == Outcome.RENEWED
    assert transition.to_stage == Stage.EXECUTION and transition.outcome == Outcome.RENEWED
    assert not alliance.is_closed
    # The new cycle works through every later gate afresh, not with last cycle's ticks.
    later = alliance.gate_checks.filter(stage__gte=Stage.EXECUTION)
    assert later.count() == 4 + 3 + 4
    assert not any(c.is_done for c in later)
    # Earlier gates keep their history.
    assert all(c.is_done for c in alliance.gate_checks.filter(stage=Stage.FORMATION))


def test_restructured_goes_back_to_governance(world):
    alliance = world.shared
    move_to(world, alliance, Stage.RENEWAL_EXIT)
    tick_all(alliance, world.ada)
    advance(world, alliance, note="New terms.", outcome=Outcome.RESTRUCTURED)
    alliance.refresh_from_db()
    assert alliance.stage == Stage.GOVERNANCE and alliance.outcome == Outcome.RESTRUCTURED
    assert not any(c.is_done for c in alliance.gate_checks.filter(stage=Stage.GOVERNANCE))


# --- pages ---------------------------------------------------------------------------------


def test_advance_page_moves_on_with_a_note(world, client_for):
    client = client_for(world.ada)
    tick_all(world.shared, world.ada)
    assert client.get(url(world.shared, "stage/advance/")).status_code == 200
    response = client.post(url(world.shared, "stage/advance/"), {"note": "Thesis signed."})
    assert response.status_code == 302
    world.shared.refresh_from_db()
    assert world.shared.stage == Stage.GOVERNANCE


def test_advance_page_without_a_note_is_refused(world, client_for):
    tick_all(world.shared, world.ada)
    response = client_for(world.ada).post(url(world.shared, "stage/advance/"), {"note": ""})
    assert response.status_code == 400
    assert "Say in a sentence why" in response.content.decode()
    world.shared.refresh_from_db()
    assert world.shared.stage == Stage.FORMATION


def test_advance_page_refuses_unmet_gate_items_without_a_reason(world, client_for):
    client = client_for(world.dan)
    response = client.post(url(world.shared, "stage/advance/"), {"note": "Let's go."})
    assert response.status_code == 400
    page = response.content.decode()
    assert "5 gate item(s) are not met" in page
    assert 'name="override_reason"' in page
    world.shared.refresh_from_db()
    assert world.shared.stage == Stage.FORMATION

    response = client.post(
        url(world.shared, "stage/advance/"),
        {"note": "Let's go.", "override_reason": "The sponsor insists; we catch up in May."},
    )
    assert response.status_code == 302
    transition = StageTransition.objects.filter(alliance=world.shared).first()
    assert transition.to_stage == Stage.GOVERNANCE
    assert transition.override_reason == "The sponsor insists; we catch up in May."
    assert len(transition.checklist) == 5 and not any(i["done"] for i in transition.checklist)


def test_viewer_and_partner_cannot_move_the_stage(world, client_for):
    tick_all(world.shared, world.ada)
    assert (
        client_for(world.vic).post(url(world.shared, "stage/advance/"), {"note": "x"}).status_code
        == 403
    )
    partner = client_for(world.ben).post(
        url(world.shared, "stage/advance/", org="contoso"), {"note": "x"}
    )
    assert partner.status_code == 403
    outsider = client_for(world.cy).post(
        url(world.shared, "stage/advance/", org="fabrikam"), {"note": "x"}
    )
    assert outsider.status_code == 404
    world.shared.refresh_from_db()
    assert world.shared.stage == Stage.FORMATION


def test_back_page_needs_a_reason_and_an_earlier_stage(world, client_for):
    move_to(world, world.shared, Stage.EVALUATION)
    client = client_for(world.ada)
    page = client.get(url(world.shared, "stage/back/")).content.decode()
    assert 'value="1"' in page and 'value="3"' in page and 'value="4"' not in page
    for data in (
        {"to_stage": "2", "reason": ""},
        {"to_stage": "4", "reason": "Because."},
        {"to_stage": "5", "reason": "Because."},
        {"to_stage": "abc", "reason": "Because."},
        {"reason": "Because."},
    ):
        response = client.post(url(world.shared, "stage/back/"), data)
        assert response.status_code == 400, data
    world.shared.refresh_from_db()
    assert world.shared.stage == Stage.EVALUATION

    response = client.post(
        url(world.shared, "stage/back/"), {"to_stage": "2", "reason": "Decision rights broke."}
    )
    assert response.status_code == 302
    world.shared.refresh_from_db()
    assert world.shared.stage == Stage.GOVERNANCE


def test_stage_5_page_needs_an_outcome_and_lessons_for_an_exit(world, client_for):
    move_to(world, world.shared, Stage.RENEWAL_EXIT)
    tick_all(world.shared, world.ada)
    client = client_for(world.ada)
    page = client.get(url(world.shared, "stage/advance/")).content.decode()
    assert 'name="outcome"' in page and 'name="lessons-what_worked"' in page

    response = client.post(url(world.shared, "stage/advance/"), {"note": "Done."})
    assert response.status_code == 400
    assert "Choose the outcome" in response.content.decode()
    # Renewing without a note: the note is what is missing, not lessons learned.
    response = client.post(url(world.shared, "stage/advance/"), {"outcome": "renewed"})
    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="id_note_error"' in page
    assert 'id="id_lessons-what_worked_error"' not in page

    response = client.post(
        url(world.shared, "stage/advance/"), {"note": "Done.", "outcome": "exited"}
    )
    assert response.status_code == 400
    assert 'id="id_lessons-what_worked_error"' in response.content.decode()
    assert not LessonsLearned.objects.filter(alliance=world.shared).exists()
    world.shared.refresh_from_db()
    assert not world.shared.is_closed

    lessons = {f"lessons-{name}": value for name, value in LESSONS.items()}
    response = client.post(
        url(world.shared, "stage/advance/"), {"note": "Done.", "outcome": "exited", **lessons}
    )
    assert response.status_code == 302
    world.shared.refresh_from_db()
    assert world.shared.is_closed
    assert LessonsLearned.objects.get(alliance=world.shared).data == LESSONS["data"]

    detail = client.get(url(world.shared, "profile/")).content.decode()
    assert "Lessons learned" in detail and LESSONS["what_did_not"] in detail
    assert "This alliance has exited" in detail

    again = client.post(
        url(world.shared, "stage/advance/"), {"note": "Again.", "outcome": "renewed"}
    )
    assert again.status_code == 400
    assert "lifecycle is complete" in again.content.decode()
    back = client.post(url(world.shared, "stage/back/"), {"to_stage": "4", "reason": "Undo."})
    assert back.status_code == 400
    world.shared.refresh_from_db()
    assert world.shared.is_closed and world.shared.stage == Stage.RENEWAL_EXIT


def test_stage_5_page_renews(world, client_for):
    move_to(world, world.shared, Stage.RENEWAL_EXIT)
    tick_all(world.shared, world.ada)
    response = client_for(world.ada).post(
        url(world.shared, "stage/advance/"), {"note": "Renew.", "outcome": "renewed"}
    )
    assert response.status_code == 302
    world.shared.refresh_from_db()
    assert world.shared.stage == Stage.EXECUTION


def test_history_shows_every_transition_on_the_alliance_page(world, client_for):
    alliance = world.shared
    tick_all(alliance, world.ada)
    advance(world, alliance, note="Formation finished.")
    alliance.refresh_from_db()
    advance(world, alliance, note="Governance rushed.", override_reason="Contract signed anyway.")
    alliance.refresh_from_db()
    services.stage_back(
        alliance=alliance,
        user=world.ada,
        organization=world.northwind,
        to_stage=Stage.GOVERNANCE,
        reason="Escalation ladder missing.",
    )
    page = client_for(world.ada).get(url(alliance, "profile/")).content.decode()
    history = page[page.index('id="history"') :]
    for text in (
        "Alliance created.",
        "Formation finished.",
        "Governance rushed.",
        "Contract signed anyway.",
        "Escalation ladder missing.",
        "moved back",
    ):
        assert text in history, text
    # The partner sees the same history.
    partner_page = (
        client_for(world.ben).get(url(alliance, "profile/", org="contoso")).content.decode()
    )
    assert "Escalation ladder missing." in partner_page


# --- the organisation's gate checklist -----------------------------------------------------


def test_entering_a_stage_copies_the_leads_active_gate_items(world, client_for):
    client = client_for(world.ada)
    assert client.get("/o/northwind/settings/gates/").status_code == 200
    response = client.post(
        "/o/northwind/settings/gates/", {"stage": "1", "text": "Legal has read the NDA"}
    )
    assert response.status_code == 302
    response = client.post(
        "/o/northwind/settings/gates/", {"stage": "2", "text": "Steering charter signed"}
    )
    assert response.status_code == 302
    removed = GateItem.objects.filter(organization=world.northwind, stage=1).first()
    response = client.post(f"/o/northwind/settings/gates/{removed.pk}/remove/")
    assert response.status_code == 302
    page = client.get("/o/northwind/settings/gates/").content.decode()
    assert "Legal has read the NDA" in page and removed.text not in page

    response = client.post(
        "/o/northwind/alliances/new/",
        {"name": "Fresh gate", "partner_name": "Adatum", "model": "ecosystem",
         "strategic_importance": "3"},
    )  # fmt: skip
    assert response.status_code == 302
    fresh = world.northwind.led_alliances.get(name="Fresh gate")
    texts = list(fresh.gate_checks.filter(stage=1).values_list("text", flat=True))
    assert "Legal has read the NDA" in texts
    assert removed.text not in texts
    assert len(texts) == 5

    # An alliance already in formation keeps the checklist it took.
    assert world.shared.gate_checks.filter(text=removed.text).exists()
    # Moving on into governance picks up the new governance item.
    tick_all(world.shared, world.ada)
    advance(world, world.shared)
    assert world.shared.gate_checks.filter(stage=2, text="Steering charter signed").exists()

    # Another organisation's checklist is its own.
    assert not world.fabrikam_alliance.gate_checks.filter(text="Legal has read the NDA").exists()


def test_only_admins_edit_the_gate_checklist_and_bad_input_is_a_form_error(world, client_for):
    client = client_for(world.dan)
    assert client.get("/o/northwind/settings/gates/").status_code == 200
    assert (
        client.post("/o/northwind/settings/gates/", {"stage": "1", "text": "x"}).status_code == 403
    )
    item = GateItem.objects.filter(organization=world.northwind).first()
    assert client.post(f"/o/northwind/settings/gates/{item.pk}/remove/").status_code == 403
    other = GateItem.objects.filter(organization=world.fabrikam).first()
    admin = client_for(world.ada)
    assert admin.post(f"/o/northwind/settings/gates/{other.pk}/remove/").status_code == 404
    other.refresh_from_db()
    assert other.is_active
    for data in ({"stage": "1", "text": ""}, {"stage": "abc", "text": "x"}, {"stage": "9"}):
        assert admin.post("/o/northwind/settings/gates/", data).status_code == 400
    response = admin.post("/o/northwind/settings/gates/", {"stage": "1", "text": "x" * 500})
    assert response.status_code == 400
    assert "at most 200 characters" in response.content.decode()


# --- ticking gate items --------------------------------------------------------------------


def test_gate_check_toggle_by_plain_post(world, client_for):
    check = world.shared.gate_checks.first()
    client = client_for(world.dan)
    response = client.post(url(world.shared, f"gate/{check.pk}/"), {"done": "1"})
    assert response.status_code == 302 and response["Location"].endswith("#gate")
    check.refresh_from_db()
    assert check.is_done and check.done_by == world.dan
    client.post(url(world.shared, f"gate/{check.pk}/"), {"done": "0"})
    check.refresh_from_db()
    assert not check.is_done and check.done_by is None


def test_gate_check_toggle_by_htmx_returns_only_the_item(world, client_for):
    check = world.shared.gate_checks.first()
    response = client_for(world.ada).post(
        url(world.shared, f"gate/{check.pk}/"), {"done": "1"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert f'id="check-{check.pk}"' in html
    assert check.text in html and 'aria-pressed="true"' in html
    assert "<html" not in html and 'id="history"' not in html
    check.refresh_from_db()
    assert check.is_done


def test_gate_checks_are_not_toggled_by_viewers_partners_or_outsiders(world, client_for):
    check = world.shared.gate_checks.first()
    viewer = client_for(world.vic).post(url(world.shared, f"gate/{check.pk}/"), {"done": "1"})
    assert viewer.status_code == 403
    partner = client_for(world.ben).post(
        url(world.shared, f"gate/{check.pk}/", org="contoso"), {"done": "1"}
    )
    assert partner.status_code == 403
    other = world.fabrikam_alliance.gate_checks.first()
    response = client_for(world.ada).post(url(world.shared, f"gate/{other.pk}/"), {"done": "1"})
    assert response.status_code == 404
    assert not AllianceGateCheck.objects.filter(done_at__isnull=False).exists()


def test_a_renewal_is_not_shown_as_a_move_back(world, client_for):
    move_to(world, world.shared, Stage.RENEWAL_EXIT)
    services.stage_back(
        alliance=world.shared,
        user=world.ada,
        organization=world.northwind,
        to_stage=Stage.EVALUATION,
        reason="Value figures were incomplete.",
    )
    world.shared.refresh_from_db()
    move_to(world, world.shared, Stage.RENEWAL_EXIT)
    world.shared.refresh_from_db()
    tick_all(world.shared, world.ada)
    advance(world, world.shared, note="Renewed for two years.", outcome=Outcome.RENEWED)
    transitions = list(world.shared.transitions.all())
    renewal = next(t for t in transitions if t.outcome == Outcome.RENEWED)
    backwards = [t for t in transitions if t.is_backward]
    assert not renewal.is_backward
    assert len(backwards) == 1 and backwards[0].note == "Value figures were incomplete."
    page = client_for(world.ada).get(url(world.shared, "profile/")).content.decode()
    assert page.count("moved back") == 1
