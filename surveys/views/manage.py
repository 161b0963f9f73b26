"""Managers' survey pages: an alliance's rounds, a round's results and export, its schedule;
an organisation's defaults and question bank.

Both sides of an alliance see the same rounds and the same results. Nothing here says who
was invited to a round or who answered it: only counts, and results under the anonymity
rules of ``surveys.selectors``.
"""

import csv

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from alliances.forms import apply_errors, posted
from alliances.models import Side
from alliances.tenancy import alliance_view, tenant_view
from alliances.views import csv_safe

from .. import selectors, services
from ..manage_forms import (
    NO_REMINDERS,
    OffCycleRoundForm,
    QuestionForm,
    ScheduleForm,
    SurveySettingsForm,
    reminder_text,
)
from ..models import Cadence, Corner, Question, SurveyRound

PERIOD_WORDS = {
    Cadence.MONTHLY: "each month",
    Cadence.BIMONTHLY: "every two months",
    Cadence.QUARTERLY: "each quarter",
}


def _url(here, name: str, *args) -> str:
    return reverse(name, args=[here.scope.organization.slug, here.alliance.pk, *args])


def _org_url(scope, name: str, *args) -> str:
    return reverse(name, args=[scope.organization.slug, *args])


def schedule_in_words(schedule: services.Schedule) -> str:
    days = [str(day) for day in schedule.reminder_days]
    if not days:
        reminders = "no reminders"
    else:
        listed = days[0] if len(days) == 1 else f"{', '.join(days[:-1])} and {days[-1]}"
        reminders = f"reminders {listed} day{'' if days == ['1'] else 's'} after opening"
    return (
        f"A round opens {PERIOD_WORDS[Cadence(schedule.cadence)]} on day {schedule.open_day} "
        f"and stays open {schedule.window_days} days, with {reminders}."
    )


# --- an alliance's rounds ------------------------------------------------------------------------


@alliance_view
def survey_rounds(request, here):
    alliance = here.alliance
    now = timezone.now()
    rounds = list(selectors.rounds_for(scope=here.scope, alliance=alliance))
    schedule = services.alliance_schedule(alliance)
    own = services.alliance_settings(alliance)
    running = not (alliance.is_archived or alliance.is_closed)
    participation = selectors.pulse_participation(scope=here.scope, alliance=alliance)
    next_round = None
    if running and not (own and own.paused):
        period_start, opens_at = services.next_scheduled_round(alliance, now=now)
        next_round = {"period_start": period_start, "opens_at": opens_at}
    context = {
        "here": here,
        "rows": [(r, selectors.round_rates(r, alliance)) for r in rounds],
        "open_round": next((r for r in rounds if r.closed_at is None), None),
        "schedule": schedule,
        "schedule_words": schedule_in_words(schedule),
        "follows_defaults": own is None
        or not (own.cadence or own.open_day or own.window_days or own.reminder_days is not None),
        "lead_name": alliance.party_name(Side.LEAD),
        "running": running,
        "paused": bool(own and own.paused),
        "next_round": next_round,
        "participation": participation,
        "nobody": not any(p.taking_part for p in participation),
        "failed": [
            (contact, alliance.party_name(contact.side))
            for contact in selectors.failed_contacts(scope=here.scope, alliance=alliance)
        ],
        "benchmark": selectors.BENCHMARK_RATE,
        "form": OffCycleRoundForm() if here.can_edit_settings and running else None,
    }
    return render(request, "surveys/manage/rounds.html", context)


@alliance_view
def survey_round_off_cycle(request, here):
    here.require_settings()
    form = OffCycleRoundForm(posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            survey_round = services.round_open_off_cycle(
                alliance=here.alliance,
                user=request.user,
                reason=form.cleaned_data["reason"],
                now=timezone.now(),
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            invited = survey_round.invitations.count()
            messages.success(
                request,
                f"Off-cycle round opened. Invitations are on their way to {invited} "
                f"{'person' if invited == 1 else 'people'}.",
            )
            return redirect(_url(here, "survey_round", survey_round.pk))
    return render(
        request,
        "surveys/manage/off_cycle.html",
        {"form": form, "here": here},
        status=400 if form.errors else 200,
    )


# --- one round ---------------------------------------------------------------------------------


def _round(here, pk) -> SurveyRound:
    return here.scope.get(
        selectors.with_counts(SurveyRound.objects.filter(alliance=here.alliance)), pk=pk
    )


def _results(here, survey_round):
    """A closed round's results with the sides named; None while the round is open."""
    if survey_round.closed_at is None:
        return None
    results = selectors.round_results(survey_round)
    if results.by_side:
        for cell in results.by_side.cells:
            cell.label = here.alliance.party_name(cell.key)
    for item in results.items:
        item.corner_label = Corner(item.corner).label if item.corner else "Trust"
    return results


@alliance_view
def survey_round(request, here, round):
    survey_round = _round(here, round)
    results = _results(here, survey_round)
    context = {
        "here": here,
        "round": survey_round,
        "rates": selectors.round_rates(survey_round, here.alliance),
        "results": results,
        "overall_scores": list(zip(Corner.labels, results.overall.corner_scores, strict=True))
        if results and results.shown
        else [],
        "corners": Corner.choices,
        "benchmark": selectors.BENCHMARK_RATE,
    }
    return render(request, "surveys/manage/round.html", context)


def _score(value) -> str:
    return "" if value is None else f"{value:.1f}"


def _export_rows(survey_round, rates, results):
    yield ["section", "group", "question", "measure", "value"]
    yield ["round", "", "", "round", survey_round.label]
    yield ["round", "", "", "kind", survey_round.get_kind_display()]
    yield ["round", "", "", "status", "open" if survey_round.closed_at is None else "closed"]
    yield ["round", "", "", "opens", f"{survey_round.opens_at:%Y-%m-%d}"]
    yield ["round", "", "", "closes", f"{survey_round.closes_at:%Y-%m-%d}"]
    for group in rates:
        yield ["response rate", group.label, "", "invited", group.invited]
        yield ["response rate", group.label, "", "responses", group.responded]
        yield [
            "response rate",
            group.label,
            "",
            "rate %",
            "" if group.percent is None else group.percent,
        ]
    if results is None:
        yield ["results", "", "", "note", "Results appear when the round closes."]
        return
    if not results.shown:
        yield ["results", "", "", "note", f"Not enough responses (fewer than {results.minimum})."]
        return
    breakdowns = [("everyone", None, [results.overall])]
    breakdowns += [(b.title.lower(), b, b.cells) for b in (results.by_side, results.by_function)]
    for section, breakdown, cells in breakdowns:
        if breakdown and breakdown.pooled_over:
            yield [section, "", "", "pooled", breakdown.pooled_label]
        for cell in cells:
            if cell.hidden:
                yield [section, cell.label, "", "scores", "not enough responses"]
                continue
            yield [section, cell.label, "", "responses", cell.responses]
            yield [section, cell.label, "", "trust (0-100)", _score(cell.trust)]
            for corner, label in Corner.choices:
                yield [section, cell.label, "", f"{label} (0-100)", _score(cell.scores.get(corner))]
    for item in results.items:
        question = f"{item.position + 1}. {item.text}"
        for label, count in item.counts:
            yield ["question", "Everyone", question, label, count]
        if not item.is_trust:
            yield ["question", "Everyone", question, "Not applicable", item.not_applicable]
        yield ["question", "Everyone", question, "score (0-100)", _score(item.score)]


@alliance_view
def survey_round_export(request, here, round):
    """The round's aggregates as CSV: the numbers of its page, never a single response."""
    survey_round = _round(here, round)
    rates = selectors.round_rates(survey_round, here.alliance)
    results = _results(here, survey_round)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="pulse-{here.alliance.pk}-{survey_round.pk}.csv"'
    )
    writer = csv.writer(response)
    for row in _export_rows(survey_round, rates, results):
        writer.writerow([csv_safe(cell) for cell in row])
    return response


# --- an alliance's schedule --------------------------------------------------------------------


@alliance_view
def survey_settings(request, here):
    here.require_settings()
    alliance = here.alliance
    own = services.alliance_settings(alliance)
    defaults = services.organization_schedule(alliance.lead_organization)
    initial = {}
    if own is not None:
        reminders = own.reminder_days
        initial = {
            "cadence": own.cadence,
            "open_day": own.open_day,
            "window_days": own.window_days,
            "reminder_days": (
                "" if reminders is None else reminder_text(reminders) or NO_REMINDERS
            ),
            "paused": own.paused,
        }
    form = SurveySettingsForm(posted(request), initial=initial, defaults=defaults)
    if request.method == "POST" and form.is_valid():
        try:
            services.survey_settings_save(alliance=alliance, user=request.user, **form.cleaned_data)
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, "Survey settings saved.")
            return redirect(_url(here, "survey_rounds"))
    return render(
        request,
        "surveys/manage/settings.html",
        {
            "form": form,
            "here": here,
            "lead_name": alliance.party_name(Side.LEAD),
            "defaults_words": schedule_in_words(defaults),
        },
        status=400 if form.errors else 200,
    )


# --- an organisation's defaults and question bank -------------------------------------------------


@tenant_view
def survey_defaults(request, scope):
    if request.method == "POST":
        scope.require_admin()
    current = services.organization_schedule(scope.organization)
    form = ScheduleForm(
        posted(request),
        initial={
            "cadence": current.cadence,
            "open_day": current.open_day,
            "window_days": current.window_days,
            "reminder_days": reminder_text(current.reminder_days),
        },
    )
    if not scope.is_admin:
        for field in form.fields.values():
            field.disabled = True
    if request.method == "POST" and form.is_valid():
        try:
            services.survey_defaults_save(organization=scope.organization, **form.cleaned_data)
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, "Survey defaults saved.")
            return redirect(_org_url(scope, "question_bank"))
    return render(
        request,
        "surveys/manage/defaults.html",
        {"form": form, "scope": scope, "current_words": schedule_in_words(current)},
        status=400 if form.errors else 200,
    )


@tenant_view
def question_bank(request, scope):
    services.question_bank_ensure(organization_ids={scope.organization.pk})
    questions = list(selectors.question_bank(scope=scope))
    schedule = services.organization_schedule(scope.organization)
    corners = [
        (
            label,
            [q for q in questions if q.corner == corner and not q.is_retired],
        )
        for corner, label in Corner.choices
    ]
    return render(
        request,
        "surveys/manage/bank.html",
        {
            "scope": scope,
            "corners": corners,
            "retired": [q for q in questions if q.is_retired],
            "schedule_words": schedule_in_words(schedule),
            "cadence_label": schedule.cadence_label,
            "minimum": services.ITEMS_PER_CORNER,
        },
    )


def _question_form(request, scope, question):
    creating = question.pk is None
    asked = 0 if creating else question.asked.count()
    form = QuestionForm(posted(request), instance=question)
    if request.method == "POST" and form.is_valid():
        try:
            services.question_save(question=form.instance, user=request.user)
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, f"{'Added' if creating else 'Saved'}: “{question.text}”")
            return redirect(_org_url(scope, "question_bank"))
    return render(
        request,
        "surveys/manage/question_form.html",
        {"form": form, "scope": scope, "question": question, "creating": creating, "asked": asked},
        status=400 if form.errors else 200,
    )


@tenant_view
def question_create(request, scope):
    scope.require_edit()
    return _question_form(request, scope, Question(organization=scope.organization))


@tenant_view
def question_edit(request, scope, question):
    question = scope.get(Question, pk=question)
    scope.require_edit()
    return _question_form(request, scope, question)


@require_POST
@tenant_view
def question_retire(request, scope, question):
    question = scope.get(Question, pk=question)
    scope.require_edit()
    try:
        services.question_retire(question=question, now=timezone.now())
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"Retired: “{question.text}”. Rounds no longer ask it.")
    return redirect(_org_url(scope, "question_bank"))


@require_POST
@tenant_view
def question_restore(request, scope, question):
    question = scope.get(Question, pk=question)
    scope.require_edit()
    services.question_restore(question=question)
    messages.success(request, f"Back in use: “{question.text}”.")
    return redirect(_org_url(scope, "question_bank"))


alliance_patterns = [
    path("surveys/", survey_rounds, name="survey_rounds"),
    path("surveys/off-cycle/", survey_round_off_cycle, name="survey_round_off_cycle"),
    path("surveys/settings/", survey_settings, name="survey_settings"),
    path("surveys/<int:round>/", survey_round, name="survey_round"),
    path("surveys/<int:round>/results.csv", survey_round_export, name="survey_round_export"),
]

org_patterns = [
    path("surveys/", question_bank, name="question_bank"),
    path("surveys/defaults/", survey_defaults, name="survey_defaults"),
    path("surveys/questions/new/", question_create, name="question_create"),
    path("surveys/questions/<int:question>/", question_edit, name="question_edit"),
    path("surveys/questions/<int:question>/retire/", question_retire, name="question_retire"),
    path("surveys/questions/<int:question>/restore/", question_restore, name="question_restore"),
]
