"""Organisations, members and invitations; the pages around the alliances."""

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from . import services
from .forms import (
    GateItemForm,
    MemberInviteForm,
    PartnerAcceptForm,
    RoleForm,
    SignupForm,
    apply_errors,
    posted,
)
from .models import (
    GateItem,
    MemberInvitation,
    Membership,
    Organization,
    PartnerInvitation,
    Role,
    Stage,
    User,
)
from .tenancy import tenant_view
from .tokens import token_hash


@login_required
def home(request):
    memberships = Membership.objects.filter(user=request.user).select_related("organization")
    last = request.session.get("organization")
    chosen = next((m for m in memberships if m.organization.slug == last), None)
    chosen = chosen or next(iter(memberships), None)
    if chosen is None:
        return render(request, "accounts/no_organization.html")
    return redirect("portfolio", chosen.organization.slug)


# --- members --------------------------------------------------------------------------------


@tenant_view
def member_list(request, scope):
    form = MemberInviteForm(posted(request))
    if request.method == "POST":
        scope.require_admin()
        if form.is_valid():
            try:
                services.member_invite(
                    organization=scope.organization,
                    email=form.cleaned_data["email"],
                    role=form.cleaned_data["role"],
                    invited_by=request.user,
                )
            except ValidationError as error:
                apply_errors(form, error)
            else:
                messages.success(request, f"Invitation sent to {form.cleaned_data['email']}.")
                return redirect("member_list", scope.organization.slug)
    members = scope.rows(Membership).select_related("user").order_by("user__email")
    invitations = [
        i for i in scope.rows(MemberInvitation).select_related("invited_by") if i.is_pending
    ]
    return render(
        request,
        "accounts/members.html",
        {
            "scope": scope,
            "members": members,
            "invitations": invitations if scope.is_admin else [],
            "form": form,
            "roles": Role.choices,
        },
        status=400 if form.errors else 200,
    )


@require_POST
@tenant_view
def member_role(request, scope, member):
    membership = scope.get(Membership, pk=member)  # another tenant's id is a 404, not a 403
    scope.require_admin()
    form = RoleForm(request.POST)
    if form.is_valid():
        try:
            services.membership_set_role(membership=membership, role=form.cleaned_data["role"])
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, f"{membership.user} is now {membership.get_role_display()}.")
    else:
        messages.error(request, "Choose a valid role.")
    return redirect("member_list", scope.organization.slug)


@require_POST
@tenant_view
def member_remove(request, scope, member):
    membership = scope.get(Membership, pk=member)
    scope.require_admin()
    try:
        services.membership_remove(membership=membership)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"{membership.user} was removed from {scope.organization}.")
    return redirect("member_list", scope.organization.slug)


@require_POST
@tenant_view
def invitation_revoke(request, scope, invitation):
    invitation = scope.get(MemberInvitation, pk=invitation)
    scope.require_admin()
    invitation.revoked_at = invitation.revoked_at or timezone.now()
    invitation.save(update_fields=["revoked_at"])
    messages.success(request, f"Invitation to {invitation.email} revoked.")
    return redirect("member_list", scope.organization.slug)


# --- organisation settings ------------------------------------------------------------------


@tenant_view
def gate_items(request, scope):
    form = GateItemForm(posted(request))
    if request.method == "POST":
        scope.require_admin()
        if form.is_valid():
            item = form.save(commit=False)
            item.organization = scope.organization
            item.position = services.next_gate_position(scope.organization, item.stage)
            item.save()
            messages.success(request, "Gate item added.")
            return redirect("gate_items", scope.organization.slug)
    items = scope.rows(GateItem).filter(is_active=True)
    by_stage = [
        (value, label, [i for i in items if i.stage == value]) for value, label in Stage.choices
    ]
    return render(
        request,
        "accounts/gate_items.html",
        {"scope": scope, "by_stage": by_stage, "form": form},
        status=400 if form.errors else 200,
    )


@require_POST
@tenant_view
def gate_item_remove(request, scope, item):
    item = scope.get(GateItem, pk=item)
    scope.require_admin()
    item.is_active = False
    item.save(update_fields=["is_active"])
    messages.success(request, "Gate item removed. Alliances already in that stage keep it.")
    return redirect("gate_items", scope.organization.slug)


# --- invitations (reached from an emailed link) ------------------------------------------------


def _pending(model, token):
    invitation = model.objects.filter(token_hash=token_hash(token)).first()
    return invitation if invitation is not None and invitation.is_pending else None


def _acceptor(request, email: str) -> tuple[User | None, SignupForm | None, str]:
    """Who is accepting an invitation sent to ``email``.

    Returns (signed-in user, signup form for a newcomer, reason it cannot go on).
    """
    if request.user.is_authenticated:
        if request.user.email.lower() != email.lower():
            return None, None, "wrong_user"
        return request.user, None, ""
    if User.objects.filter(email__iexact=email).exists():
        return None, None, "needs_login"
    return None, SignupForm(posted(request), email=email), ""


def _create_user(email: str, form: SignupForm) -> User:
    return User.objects.create_user(
        email=email,
        password=form.cleaned_data["password1"],
        full_name=form.cleaned_data["full_name"],
    )


def _sign_in(request, user):
    if not request.user.is_authenticated:
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")


def member_invitation(request, token):
    invitation = _pending(MemberInvitation, token)
    if invitation is None:
        return render(request, "accounts/invitation_invalid.html", status=404)
    user, signup_form, blocked = _acceptor(request, invitation.email)
    context = {"invitation": invitation, "signup_form": signup_form, blocked: True}
    template = "accounts/member_invitation.html"
    if blocked:
        return render(request, template, context, status=403 if blocked == "wrong_user" else 200)
    if request.method == "POST" and (signup_form is None or signup_form.is_valid()):
        with transaction.atomic():
            user = user or _create_user(invitation.email, signup_form)
            try:
                services.member_invitation_accept(invitation=invitation, user=user)
            except ValidationError:
                return render(request, "accounts/invitation_invalid.html", status=404)
        _sign_in(request, user)
        messages.success(request, f"Welcome to {invitation.organization}.")
        return redirect("alliance_list", invitation.organization.slug)
    return render(
        request, template, context, status=400 if signup_form and signup_form.errors else 200
    )


def partner_invitation(request, token):
    invitation = _pending(PartnerInvitation, token)
    if invitation is None or invitation.alliance.partner_organization_id:
        return render(request, "accounts/invitation_invalid.html", status=404)
    alliance = invitation.alliance
    user, signup_form, blocked = _acceptor(request, invitation.email)
    context = {
        "invitation": invitation,
        "alliance": alliance,
        "signup_form": signup_form,
        blocked: True,
    }
    template = "accounts/partner_invitation.html"
    if blocked:
        return render(request, template, context, status=403 if blocked == "wrong_user" else 200)
    organizations = Organization.objects.none()
    if user is not None:
        organizations = Organization.objects.filter(
            memberships__user=user, memberships__role__in=[Role.ADMIN, Role.MANAGER]
        ).exclude(pk=alliance.lead_organization_id)
    form = PartnerAcceptForm(
        posted(request), organizations=organizations, default_name=alliance.partner_name
    )
    context["accept_form"] = form
    forms_valid = form.is_valid() and (signup_form is None or signup_form.is_valid())
    if request.method == "POST" and forms_valid:
        try:
            with transaction.atomic():
                user = user or _create_user(invitation.email, signup_form)
                alliance = services.partner_invitation_accept(
                    invitation=invitation,
                    user=user,
                    organization=form.cleaned_data.get("organization"),
                    new_organization_name=form.cleaned_data["new_organization_name"],
                )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            _sign_in(request, user)
            messages.success(request, f"{alliance.partner_organization} has joined “{alliance}”.")
            return redirect("alliance_detail", alliance.partner_organization.slug, alliance.pk)
    has_errors = request.method == "POST"
    return render(request, template, context, status=400 if has_errors else 200)
