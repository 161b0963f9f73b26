"""Alliance pages. Thin: resolve the scope, validate a form, call a service, render."""

import csv

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from . import selectors, services
from .forms import (
    AllianceForm,
    ContactForm,
    ContactImportForm,
    JournalForm,
    LessonsForm,
    PartnerFitForm,
    PartnerInviteForm,
    StageAdvanceForm,
    StageBackForm,
    TriggerFireForm,
    TriggerForm,
    apply_errors,
    posted,
)
from .htmx import page_or_fragment
from .models import (
    AdaptationTrigger,
    AllianceModel,
    Contact,
    PartnerFitScore,
    Side,
    Stage,
    Visibility,
)
from .tenancy import alliance_view, tenant_view


def alliance_url(here, name="alliance_profile", *args):
    return reverse(name, args=[here.scope.organization.slug, here.alliance.pk, *args])


@tenant_view
def alliance_list(request, scope):
    filters = selectors.AllianceFilters.from_querydict(request.GET)
    alliances = list(selectors.alliance_list(scope=scope, filters=filters))
    context = {
        "alliances": alliances,
        "filters": filters,
        "stage_counts": selectors.stage_counts(scope=scope),
        "stages": Stage.choices,
        "models": AllianceModel.choices,
    }
    return page_or_fragment(request, "alliances/list.html", "results", context)


@tenant_view
def alliance_create(request, scope):
    scope.require_edit()
    form = AllianceForm(posted(request), creating=True)
    if request.method == "POST" and form.is_valid():
        fields = {k: v for k, v in form.cleaned_data.items() if k != "partner_email"}
        try:
            alliance = services.alliance_create(
                organization=scope.organization,
                user=request.user,
                partner_email=form.cleaned_data["partner_email"],
                **fields,
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, f"“{alliance}” created.")
            return redirect("alliance_detail", scope.organization.slug, alliance.pk)
    context = {"form": form, "creating": True}
    return render(request, "alliances/form.html", context, status=400 if form.errors else 200)


@alliance_view
def alliance_profile(request, here):
    overview = selectors.alliance_overview(here=here)
    context = {
        "here": here,
        "alliance": here.alliance,
        "overview": overview,
        "journal_form": JournalForm(initial={"visibility": Visibility.SHARED}),
        "advance_form": StageAdvanceForm(),
        "stages": Stage.choices,
    }
    return render(request, "alliances/profile.html", context)


@alliance_view
def alliance_edit(request, here):
    here.require_settings()
    form = AllianceForm(
        posted(request), instance=here.alliance, creating=False, is_lead=here.is_lead
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.alliance_update(
                alliance=here.alliance,
                **{k: v for k, v in form.cleaned_data.items() if k in form.changed_data},
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, "Alliance saved.")
            return redirect(alliance_url(here))
    return render(
        request,
        "alliances/form.html",
        {"form": form, "here": here, "alliance": here.alliance},
        status=400 if form.errors else 200,
    )


@require_POST
@alliance_view
def alliance_archive(request, here):
    here.require_lead()
    archive = request.POST.get("archive") == "1"
    services.alliance_set_archived(alliance=here.alliance, archived=archive)
    messages.success(request, "Alliance archived." if archive else "Alliance restored.")
    return redirect(alliance_url(here))


@alliance_view
def partner_invite(request, here):
    here.require_lead()
    form = PartnerInviteForm(posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            services.partner_invite(
                alliance=here.alliance, email=form.cleaned_data["email"], invited_by=request.user
            )
        except ValidationError as error:
            apply_errors(form, error, aliases={"partner_email": "email"})
        else:
            messages.success(request, f"Invitation sent to {form.cleaned_data['email']}.")
            return redirect(alliance_url(here))
    return render(
        request,
        "alliances/partner_invite.html",
        {"form": form, "here": here},
        status=400 if form.errors else 200,
    )


# --- contacts -------------------------------------------------------------------------------


@alliance_view
def contact_list(request, here):
    contacts = here.scope.rows(Contact.objects.filter(alliance=here.alliance))
    groups = [
        (
            f"{here.alliance.party_name(side)} ({label.lower()})",
            [c for c in contacts if c.side == side],
        )
        for side, label in Side.choices
    ]
    return render(
        request,
        "alliances/contacts.html",
        {"here": here, "alliance": here.alliance, "groups": groups},
    )


def _contact_form(request, here, contact):
    form = ContactForm(posted(request), instance=contact)
    if request.method == "POST" and form.is_valid():
        try:
            services.contact_save(contact=form.instance)
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, f"{contact.name} saved.")
            return redirect(alliance_url(here, "contact_list"))
    return render(
        request,
        "alliances/contact_form.html",
        {"form": form, "here": here, "contact": contact},
        status=400 if form.errors else 200,
    )


@alliance_view
def contact_create(request, here):
    here.require_shared()
    return _contact_form(request, here, Contact(alliance=here.alliance, side=here.side))


@alliance_view
def contact_edit(request, here, contact):
    contact = here.scope.get(Contact.objects.filter(alliance=here.alliance), pk=contact)
    here.require_side(contact.side)
    return _contact_form(request, here, contact)


@alliance_view
def contact_import(request, here):
    here.require_shared()
    form = ContactImportForm(posted(request), posted(request, files=True))
    errors = []
    if request.method == "POST" and form.is_valid():
        result = services.contacts_import_csv(
            alliance=here.alliance, side=here.side, data=form.cleaned_data["file"].read()
        )
        if not result.errors:
            messages.success(request, f"Imported {len(result.created)} contact(s).")
            return redirect(alliance_url(here, "contact_list"))
        errors = result.errors
    return render(
        request,
        "alliances/contact_import.html",
        {"form": form, "here": here, "errors": errors},
        status=400 if errors or form.errors else 200,
    )


# --- value thesis extras ----------------------------------------------------------------------


@alliance_view
def trigger_create(request, here):
    here.require_settings()
    form = TriggerForm(posted(request))
    if request.method == "POST" and form.is_valid():
        form.instance.alliance = here.alliance
        form.save()
        messages.success(request, "Adaptation trigger added.")
        return redirect(alliance_url(here) + "#triggers")
    return render(
        request,
        "alliances/trigger_form.html",
        {"form": form, "here": here},
        status=400 if form.errors else 200,
    )


@alliance_view
def trigger_fire(request, here, trigger):
    # Look the id up before the role check: another tenant's id is a 404, never a 403.
    trigger = here.scope.get(AdaptationTrigger.objects.filter(alliance=here.alliance), pk=trigger)
    here.require_shared()
    form = TriggerFireForm(posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            fired = services.trigger_fire(
                trigger=trigger,
                user=request.user,
                organization=here.scope.organization,
                note=form.cleaned_data["note"],
            )
        except ValidationError as error:
            apply_errors(form, error, aliases={"fired_note": "note"})
        else:
            messages.warning(request, fired.summary)
            return redirect(alliance_url(here) + "#triggers")
    return render(
        request,
        "alliances/trigger_fire.html",
        {"form": form, "here": here, "trigger": trigger},
        status=400 if form.errors else 200,
    )


@require_POST
@alliance_view
def trigger_delete(request, here, trigger):
    trigger = here.scope.get(AdaptationTrigger.objects.filter(alliance=here.alliance), pk=trigger)
    here.require_settings()
    trigger.delete()
    messages.success(request, "Adaptation trigger removed.")
    return redirect(alliance_url(here) + "#triggers")


@alliance_view
def partner_fit(request, here):
    scores = here.scope.rows(PartnerFitScore.objects.filter(alliance=here.alliance))
    initial = {s.criterion: (s.score, s.red_flag) for s in scores}
    if request.method == "POST":
        here.require_shared()
    form = PartnerFitForm(posted(request), initial_scores=initial)
    if request.method == "POST" and form.is_valid():
        services.partner_fit_save(
            alliance=here.alliance, organization=here.scope.organization, scores=form.scores()
        )
        messages.success(request, "Partner-fit scorecard saved.")
        return redirect(alliance_url(here) + "#fit")
    return render(
        request,
        "alliances/partner_fit.html",
        {"form": form, "here": here},
        status=400 if form.errors else 200,
    )


# --- lifecycle ------------------------------------------------------------------------------


@require_POST
@alliance_view
def gate_check_toggle(request, here, check):
    check = here.scope.get(here.alliance.gate_checks.all(), pk=check)
    here.require_settings()
    services.gate_check_set(check=check, done=request.POST.get("done") == "1", user=request.user)
    if request.htmx:
        return render(request, "alliances/profile.html#gate-check", {"check": check, "here": here})
    return redirect(alliance_url(here) + "#gate")


@alliance_view
def stage_advance(request, here):
    here.require_settings()
    alliance = here.alliance
    leaving_last = alliance.stage == Stage.RENEWAL_EXIT
    form = StageAdvanceForm(posted(request))
    # Bound only for an exit, so renewing never shows "required" errors on lessons learned.
    exiting = leaving_last and request.POST.get("outcome") == "exited"
    lessons_form = (
        LessonsForm(request.POST if exiting else None, prefix="lessons") if leaving_last else None
    )
    if request.method == "POST" and form.is_valid():
        outcome = form.cleaned_data["outcome"]
        lessons = None
        lessons_ok = True
        if leaving_last and outcome == "exited":
            lessons_ok = lessons_form.is_valid()
            lessons = lessons_form.instance if lessons_ok else None
        if lessons_ok:
            try:
                transition = services.stage_advance(
                    alliance=alliance,
                    user=request.user,
                    organization=here.scope.organization,
                    note=form.cleaned_data["note"],
                    override_reason=form.cleaned_data["override_reason"],
                    outcome=outcome,
                    lessons=lessons,
                )
            except ValidationError as error:
                apply_errors(form, error)
            else:
                messages.success(request, f"Moved to {transition.get_to_stage_display()}.")
                return redirect(alliance_url(here))
    checks = list(here.scope.rows(alliance.gate_checks.filter(stage=alliance.stage)))
    return render(
        request,
        "alliances/stage_advance.html",
        {
            "form": form,
            "lessons_form": lessons_form,
            "here": here,
            "alliance": alliance,
            "checks": checks,
            "unmet": [c for c in checks if not c.is_done],
            "next_stage": Stage(alliance.stage + 1).label if not leaving_last else None,
        },
        status=400 if form.errors or (lessons_form and lessons_form.errors) else 200,
    )


@alliance_view
def stage_back(request, here):
    here.require_settings()
    form = StageBackForm(posted(request), current_stage=here.alliance.stage)
    if request.method == "POST" and form.is_valid():
        try:
            transition = services.stage_back(
                alliance=here.alliance,
                user=request.user,
                organization=here.scope.organization,
                to_stage=form.cleaned_data["to_stage"],
                reason=form.cleaned_data["reason"],
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, f"Moved back to {transition.get_to_stage_display()}.")
            return redirect(alliance_url(here))
    return render(
        request,
        "alliances/stage_back.html",
        {"form": form, "here": here, "alliance": here.alliance},
        status=400 if form.errors else 200,
    )


# --- journal --------------------------------------------------------------------------------


@require_POST
@alliance_view
def journal_add(request, here):
    here.require_shared()
    form = JournalForm(request.POST)
    if form.is_valid():
        services.journal_add(
            alliance=here.alliance,
            user=request.user,
            organization=here.scope.organization,
            body=form.cleaned_data["body"],
            visibility=form.cleaned_data["visibility"],
        )
        messages.success(request, "Note added to the journal.")
        return redirect(alliance_url(here) + "#journal")
    return render(
        request,
        "alliances/journal_form.html",
        {"form": form, "here": here, "alliance": here.alliance},
        status=400,
    )


def csv_safe(value) -> str:
    """Neutralise spreadsheet formulas in exported cells. Numbers stay numbers (a negative
    change is not a formula); any text starting like a formula is prefixed with a quote."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"{value:.10g}" if isinstance(value, float) else str(value)
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@alliance_view
def contacts_export(request, here):
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="contacts-{here.alliance.pk}.csv"'
    writer = csv.writer(response)
    writer.writerow(["name", "email", "function", "side", "active"])
    for contact in here.scope.rows(Contact.objects.filter(alliance=here.alliance)):
        writer.writerow(
            [
                csv_safe(contact.name),
                csv_safe(contact.email),
                contact.get_function_display(),
                here.alliance.party_name(contact.side),
                "yes" if contact.is_active else "no",
            ]
        )
    return response
