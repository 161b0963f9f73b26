"""Bodies and meetings, the decision-rights matrix and the decision log."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, F, Prefetch
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from alliances.forms import apply_errors, posted
from alliances.models import Contact, Side
from alliances.tenancy import alliance_view

from .. import selectors, services
from ..models import (
    ActionItem,
    Decision,
    DecisionRight,
    GovernanceBody,
    GovernanceChange,
    Meeting,
    Tier,
)
from ..operating_forms import (
    BodyForm,
    DecisionForm,
    DecisionRightForm,
    DecisionsTakenFormSet,
    MeetingForm,
)

RECENT_MEETINGS = 8


def _url(here, name, *args):
    return reverse(name, args=[here.scope.organization.slug, here.alliance.pk, *args])


def _contacts(here):
    return here.scope.rows(Contact.objects.filter(alliance=here.alliance))


def _bodies(here):
    return here.scope.rows(GovernanceBody.objects.filter(alliance=here.alliance))


def _meetings(here):
    return here.scope.rows(Meeting.objects.filter(alliance=here.alliance))


def _rights(here):
    return here.scope.rows(DecisionRight.objects.filter(alliance=here.alliance))


def _status(form, formset=None) -> int:
    """A refused POST answers 400, with the errors on the page."""
    refused = form.errors or (formset is not None and formset.is_bound and not formset.is_valid())
    return 400 if refused else 200


# --- bodies and meetings --------------------------------------------------------------------


@alliance_view
def governance_overview(request, here):
    statuses = selectors.body_statuses(
        scope=here.scope, alliance=here.alliance, today=timezone.localdate()
    )
    rates = selectors.attendance(scope=here.scope, alliance=here.alliance)
    members: dict[int, list[Contact]] = {}
    for contact in (
        _contacts(here).annotate(body_id=F("governance_bodies")).filter(body_id__isnull=False)
    ):
        members.setdefault(contact.body_id, []).append(contact)
    rows = [
        {
            "status": status,
            "body": status.body,
            "members": members.get(status.body.pk, []),
            "attendance": rates.get(status.body.pk, {}).get("all"),
            "side_rates": [
                (here.alliance.party_name(side), rates.get(status.body.pk, {}).get(side))
                for side in Side.values
            ],
        }
        for status in statuses
    ]
    tiers = [(label, [r for r in rows if r["body"].tier == tier]) for tier, label in Tier.choices]
    recent = (
        _meetings(here)
        .select_related("body")
        .annotate(came=Count("attendees", distinct=True))
        .order_by("-held_on", "-pk")[:RECENT_MEETINGS]
    )
    return render(
        request,
        "governance/operating/overview.html",
        {
            "here": here,
            "alliance": here.alliance,
            "tiers": tiers,
            "has_bodies": bool(rows),
            "recent": recent,
        },
    )


def _body_form(request, here, body):
    form = BodyForm(
        posted(request),
        instance=body,
        contacts=_contacts(here),
        party_name=here.alliance.party_name,
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.body_save(
                body=form.instance,
                members=form.cleaned_data["members"],
                chair=form.cleaned_data["chair"],
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, f"{body.name} saved.")
            return redirect(_url(here, "governance_body", body.pk))
    return render(
        request,
        "governance/operating/body_form.html",
        {"form": form, "here": here, "body": body},
        status=_status(form),
    )


@alliance_view
def body_create(request, here):
    here.require_shared()
    return _body_form(request, here, GovernanceBody(alliance=here.alliance))


@alliance_view
def body_edit(request, here, body):
    body = here.scope.get(_bodies(here), pk=body)
    here.require_shared()
    return _body_form(request, here, body)


@alliance_view
def body_detail(request, here, body):
    body = here.scope.get(_bodies(here).select_related("chair"), pk=body)
    members = list(here.scope.rows(body.members.all()))
    meetings = list(
        here.scope.rows(body.meetings.all()).prefetch_related(
            Prefetch("attendees", queryset=here.scope.rows(Contact)),
            Prefetch("decisions", queryset=here.scope.rows(Decision)),
            Prefetch("actions", queryset=here.scope.rows(ActionItem).select_related("owner")),
        )
    )
    for meeting in meetings:
        came = len(meeting.attendees.all())
        meeting.attendance = selectors.Attendance(came, len(members))
    status = next(
        s
        for s in selectors.body_statuses(
            scope=here.scope, alliance=here.alliance, today=timezone.localdate()
        )
        if s.body.pk == body.pk
    )
    rates = selectors.attendance(scope=here.scope, alliance=here.alliance).get(body.pk)
    return render(
        request,
        "governance/operating/body_detail.html",
        {
            "here": here,
            "alliance": here.alliance,
            "body": body,
            "members": members,
            "meetings": meetings,
            "status": status,
            "rates": rates,
            "sides": Side.choices,
        },
    )


def _meeting_form(request, here, meeting):
    body = meeting.body
    form = MeetingForm(
        posted(request),
        instance=meeting,
        contacts=_contacts(here),
        members=here.scope.rows(body.members.all()),
        party_name=here.alliance.party_name,
    )
    decisions = DecisionsTakenFormSet(posted(request), prefix="decisions")
    if request.method == "POST" and form.is_valid() and decisions.is_valid():
        taken = [row for row in decisions.cleaned_data if row and row.get("decision", "").strip()]
        try:
            with transaction.atomic():
                services.meeting_record(
                    meeting=form.instance, attendees=form.cleaned_data["attendees"]
                )
                for row in taken:
                    services.decision_record(
                        decision=Decision(
                            alliance=here.alliance,
                            decision=row["decision"].strip(),
                            rationale=row["rationale"].strip(),
                            forum=body.name,
                            decided_on=meeting.held_on,
                            meeting=meeting,
                        ),
                        user=request.user,
                    )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(
                request,
                f"Meeting of {meeting.held_on:%-d %b %Y} saved"
                + (f" with {len(taken)} decision(s)." if taken else "."),
            )
            return redirect(_url(here, "governance_body", body.pk))
    existing = here.scope.rows(meeting.decisions.all()) if meeting.pk else []
    return render(
        request,
        "governance/operating/meeting_form.html",
        {
            "form": form,
            "decisions": decisions,
            "existing": existing,
            "here": here,
            "body": body,
            "meeting": meeting,
        },
        status=_status(form, decisions),
    )


@alliance_view
def meeting_create(request, here, body):
    body = here.scope.get(_bodies(here), pk=body)
    here.require_shared()
    meeting = Meeting(
        alliance=here.alliance,
        body=body,
        held_on=timezone.localdate(),
        created_by=request.user,
    )
    return _meeting_form(request, here, meeting)


@alliance_view
def meeting_edit(request, here, meeting):
    meeting = here.scope.get(_meetings(here).select_related("body"), pk=meeting)
    here.require_shared()
    return _meeting_form(request, here, meeting)


# --- decision rights ------------------------------------------------------------------------


@alliance_view
def decision_rights(request, here):
    history = here.scope.rows(
        GovernanceChange.objects.filter(alliance=here.alliance, subject="decision right")
    ).select_related("by_user", "author_organization")
    return render(
        request,
        "governance/operating/decision_rights.html",
        {
            "here": here,
            "alliance": here.alliance,
            "rights": _rights(here),
            "history": history,
        },
    )


@require_POST
@alliance_view
def decision_rights_seed(request, here):
    here.require_shared()
    added = services.decision_rights_seed(alliance=here.alliance)
    messages.success(request, f"Added {added} default row(s) to the matrix.")
    return redirect(_url(here, "decision_rights"))


def _right_form(request, here, right):
    form = DecisionRightForm(posted(request), instance=right)
    if request.method == "POST" and form.is_valid():
        try:
            services.decision_right_save(
                right=form.instance, user=request.user, organization=here.scope.organization
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, f"“{right.decision_type}” saved.")
            return redirect(_url(here, "decision_rights"))
    return render(
        request,
        "governance/operating/decision_right_form.html",
        {"form": form, "here": here, "right": right},
        status=_status(form),
    )


@alliance_view
def decision_right_create(request, here):
    here.require_shared()
    position = _rights(here).count()
    return _right_form(request, here, DecisionRight(alliance=here.alliance, position=position))


@alliance_view
def decision_right_edit(request, here, right):
    right = here.scope.get(_rights(here), pk=right)
    here.require_shared()
    return _right_form(request, here, right)


@require_POST
@alliance_view
def decision_right_delete(request, here, right):
    right = here.scope.get(_rights(here), pk=right)
    here.require_shared()
    services.decision_right_delete(
        right=right, user=request.user, organization=here.scope.organization
    )
    messages.success(request, f"“{right.decision_type}” removed from the matrix.")
    return redirect(_url(here, "decision_rights"))


# --- decision log ---------------------------------------------------------------------------


@alliance_view
def decision_log(request, here):
    decisions = here.scope.rows(Decision.objects.filter(alliance=here.alliance)).select_related(
        "meeting__body", "decision_right"
    )
    return render(
        request,
        "governance/operating/decision_log.html",
        {"here": here, "alliance": here.alliance, "decisions": decisions},
    )


@alliance_view
def decision_create(request, here):
    here.require_shared()
    decision = Decision(alliance=here.alliance, decided_on=timezone.localdate())
    form = DecisionForm(
        posted(request),
        instance=decision,
        meetings=_meetings(here).select_related("body"),
        rights=_rights(here),
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.decision_record(decision=form.instance, user=request.user)
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, "Decision logged.")
            return redirect(_url(here, "decision_log"))
    return render(
        request,
        "governance/operating/decision_form.html",
        {"form": form, "here": here},
        status=_status(form),
    )


alliance_patterns = [
    path("governance/", governance_overview, name="governance_overview"),
    path("governance/bodies/new/", body_create, name="governance_body_create"),
    path("governance/bodies/<int:body>/", body_detail, name="governance_body"),
    path("governance/bodies/<int:body>/edit/", body_edit, name="governance_body_edit"),
    path("governance/bodies/<int:body>/meetings/new/", meeting_create, name="meeting_create"),
    path("governance/meetings/<int:meeting>/edit/", meeting_edit, name="meeting_edit"),
    path("governance/decision-rights/", decision_rights, name="decision_rights"),
    path(
        "governance/decision-rights/defaults/",
        decision_rights_seed,
        name="decision_rights_seed",
    ),
    path("governance/decision-rights/new/", decision_right_create, name="decision_right_create"),
    path(
        "governance/decision-rights/<int:right>/edit/",
        decision_right_edit,
        name="decision_right_edit",
    ),
    path(
        "governance/decision-rights/<int:right>/delete/",
        decision_right_delete,
        name="decision_right_delete",
    ),
    path("governance/decisions/", decision_log, name="decision_log"),
    path("governance/decisions/new/", decision_create, name="decision_create"),
]
