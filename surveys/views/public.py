"""The pages a partner contact reaches from a pulse email, without signing in.

``/s/<token>/`` only looks: mail scanners fetch links before people do, so a GET never uses
a link up. It puts the invitation in the session under a random slot and redirects to
``/s/a/<slot>/``, so the token is not left in the address bar, the history or a referrer.
Submitting the form (POST) uses the invitation up. An invalid, used or expired link all
get the same neutral page. Every page here sends ``Referrer-Policy: no-referrer``, is not
cached, and counts against a per-client rate limit.

Their forms are checked against CSRF here rather than by the middleware, which lets these
views through (``csrf_exempt``): a no-referrer page's form arrives with ``Origin: null`` and
without a ``Referer``, which Django's origin and referer checks refuse. Here the token check
alone decides (a cross-site form cannot know the token, and the cookies are SameSite; in
production HSTS keeps a network attacker from planting one over plain HTTP). Everywhere
else the middleware's checks apply unchanged.
"""

import secrets
from datetime import timedelta
from functools import wraps

from django.conf import settings
from django.core.exceptions import ValidationError
from django.middleware.csrf import CsrfViewMiddleware
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.decorators import decorator_from_middleware
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt

from alliances.forms import apply_errors
from alliances.models import Side, Visibility
from alliances.ratelimit import client_ip, over_limit
from alliances.tokens import token_hash
from governance.models import ActionItem, ActionSource, ActionStatus

from .. import services
from ..forms import AnswerForm
from ..models import SurveyInvitation, SurveyLink, SurveyRound

SESSION_KEY = "pulse"  # {slot: invitation id}
DONE_KEY = "pulse_done"  # slots answered in this session, for a friendly double submit


class NoReferrerCsrfCheck(CsrfViewMiddleware):
    """Django's CSRF check for forms on no-referrer pages: ``Origin: null`` and a missing
    ``Referer`` are let through to the token check (see the module's docstring)."""

    def _origin_verified(self, request):
        return request.META.get("HTTP_ORIGIN") == "null" or super()._origin_verified(request)

    def _check_referer(self, request):
        if "HTTP_REFERER" in request.META:
            super()._check_referer(request)


csrf_protect_no_referrer = decorator_from_middleware(NoReferrerCsrfCheck)


def survey_page(view):
    """Headers, the rate limit and the CSRF check every page under /s/ shares. A view
    marked ``csrf_exempt`` (below ``@survey_page``) skips the CSRF check."""
    checked = csrf_protect_no_referrer(view)

    @wraps(view)
    @never_cache
    def wrapper(request, *args, **kwargs):
        if over_limit("survey", client_ip(request), limit=settings.SURVEY_RATE_LIMIT):
            response = render(request, "surveys/public/slow_down.html", status=429)
            response["Retry-After"] = "60"
        else:
            response = checked(request, *args, **kwargs)
        response["Referrer-Policy"] = "no-referrer"
        response["X-Robots-Tag"] = "noindex, nofollow"
        return response

    return csrf_exempt(wrapper)  # checked inside, by csrf_protect_no_referrer


def unavailable(request):
    """The one page for a link that does not work, whatever the reason."""
    return render(request, "surveys/public/unavailable.html", status=404)


def _link(token: str) -> SurveyLink | None:
    if not 20 <= len(token) <= 100:
        return None
    return (
        SurveyLink.objects.select_related(
            "invitation__contact",
            "invitation__round__alliance__lead_organization",
            "invitation__round__alliance__partner_organization",
        )
        .filter(token_hash=token_hash(token))
        .first()
    )


def _invitation_in_session(request, slot: str) -> SurveyInvitation | None:
    invitation_id = request.session.get(SESSION_KEY, {}).get(slot)
    if invitation_id is None:
        return None
    return (
        SurveyInvitation.objects.select_related(
            "round__alliance__lead_organization", "round__alliance__partner_organization"
        )
        .filter(pk=invitation_id)
        .first()
    )


@survey_page
def survey_link(request, token):
    link = _link(token) if request.method == "GET" else None
    now = timezone.now()
    if link is None or not services.invitation_is_usable(link.invitation, now=now):
        return unavailable(request)
    slots = request.session.get(SESSION_KEY, {})
    slot = next((s for s, i in slots.items() if i == link.invitation_id), None)
    if slot is None:
        slot = secrets.token_urlsafe(9)
        slots[slot] = link.invitation_id
        request.session[SESSION_KEY] = slots
    return redirect("survey_answer", slot=slot)


def _closing_the_loop(survey_round: SurveyRound, *, now):
    """Shared actions raised by alerts or reviews and completed since the previous round."""
    previous = (
        SurveyRound.objects.filter(
            alliance_id=survey_round.alliance_id, opens_at__lt=survey_round.opens_at
        )
        .order_by("-opens_at")
        .values_list("opens_at", flat=True)
        .first()
    )
    since = previous or survey_round.opens_at - timedelta(days=90)
    return (
        ActionItem.objects.filter(
            alliance_id=survey_round.alliance_id,
            visibility=Visibility.SHARED,
            source__in=[ActionSource.ALERT, ActionSource.HEALTH_REVIEW],
            status=ActionStatus.DONE,
            completed_at__gte=since,
            completed_at__lte=now,
        )
        .select_related("author_organization")
        .order_by("-completed_at")[:6]
    )


@survey_page
def survey_answer(request, slot):
    now = timezone.now()
    invitation = _invitation_in_session(request, slot)
    if request.method == "POST" and slot in request.session.get(DONE_KEY, []):
        return redirect("survey_done")
    if not services.invitation_is_usable(invitation, now=now):
        return unavailable(request)
    survey_round = invitation.round
    questions = list(survey_round.questions.all())
    form = AnswerForm(request.POST if request.method == "POST" else None, questions=questions)
    if request.method == "POST" and form.is_valid():
        try:
            services.response_submit(
                invitation=invitation,
                answers=form.answers(),
                comment=form.cleaned_data["comment"],
                now=now,
            )
        except ValidationError as error:
            apply_errors(form, error)
        except services.AlreadyAnswered:
            return unavailable(request)
        else:
            slots = request.session.get(SESSION_KEY, {})
            slots.pop(slot, None)
            request.session[SESSION_KEY] = slots
            request.session[DONE_KEY] = [*request.session.get(DONE_KEY, [])[-9:], slot]
            request.session["pulse_thanks"] = survey_round.alliance.name
            return redirect("survey_done")
    alliance = survey_round.alliance
    context = {
        "form": form,
        "round": survey_round,
        "alliance": alliance,
        "side_name": alliance.party_name(invitation.side),
        "other_name": alliance.party_name(
            Side.PARTNER if invitation.side == Side.LEAD else Side.LEAD
        ),
        "done_actions": _closing_the_loop(survey_round, now=now),
    }
    return render(
        request,
        "surveys/public/answer.html",
        context,
        status=400 if form.errors else 200,
    )


@survey_page
def survey_done(request):
    alliance_name = request.session.get("pulse_thanks")
    return render(request, "surveys/public/done.html", {"alliance_name": alliance_name})


@survey_page
@csrf_exempt  # the token in the URL is the credential; mail clients post here (RFC 8058)
def survey_unsubscribe(request, token):
    link = _link(token)
    contact = link.invitation.contact if link else None
    if contact is None:
        return unavailable(request)
    if request.method == "POST":
        if request.POST.get("action") == "resubscribe":
            services.contact_resubscribe(contact=contact)
        else:  # the form's button, or a mail client's "List-Unsubscribe=One-Click"
            services.contact_unsubscribe(contact=contact, now=timezone.now())
        contact.refresh_from_db(fields=["pulse_unsubscribed_at"])
    return render(
        request,
        "surveys/public/unsubscribe.html",
        {
            "contact": contact,
            "alliance": link.invitation.round.alliance,
            "unsubscribed": contact.pulse_unsubscribed_at is not None,
            "changed": request.method == "POST",
        },
    )


patterns = [
    path("s/a/<str:slot>/", survey_answer, name="survey_answer"),
    path("s/done/", survey_done, name="survey_done"),
    path("s/<str:token>/unsubscribe/", survey_unsubscribe, name="survey_unsubscribe"),
    path("s/<str:token>/", survey_link, name="survey_link"),
]
