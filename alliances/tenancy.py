"""The one place that decides who may see and do what.

Every page, export and job that touches tenant data resolves a ``Scope`` first:
the signed-in user's membership of the organisation named in the URL. Rows are then
reached only through ``scope.get(...)``/``scope.rows(...)``, which filter with the model's
``tenant_filter``. Anything outside the scope is a 404, so "not yours" and "not there"
look the same; a role that may not act on something it can see gets a 403.
"""

from dataclasses import dataclass
from functools import cached_property, wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404

from .models import Alliance, Membership, Organization, Side, SideOwned, Visibility


@dataclass(frozen=True)
class Scope:
    membership: Membership

    @property
    def organization(self) -> Organization:
        return self.membership.organization

    @property
    def user(self):
        return self.membership.user

    @property
    def role(self) -> str:
        return self.membership.role

    @property
    def can_edit(self) -> bool:
        return self.membership.can_edit

    @property
    def is_admin(self) -> bool:
        return self.membership.is_admin

    def rows(self, model_or_queryset):
        queryset = getattr(model_or_queryset, "objects", model_or_queryset)
        return queryset.all().visible_to(self.organization)

    def get(self, model_or_queryset, **lookup):
        try:
            return get_object_or_404(self.rows(model_or_queryset), **lookup)
        except (ValueError, TypeError, OverflowError) as error:  # a non-numeric or huge id
            raise Http404 from error

    def require_edit(self):
        if not self.can_edit:
            raise PermissionDenied("Your role in this organisation is read-only.")

    def require_admin(self):
        if not self.is_admin:
            raise PermissionDenied("Only organisation admins can do this.")


@dataclass(frozen=True)
class AllianceScope:
    """A scope narrowed to one alliance that the organisation is a party to."""

    scope: Scope
    alliance: Alliance

    @cached_property
    def side(self) -> str:
        return self.alliance.side_of(self.scope.organization)

    @property
    def side_label(self) -> str:
        return Side(self.side).label

    @property
    def is_lead(self) -> bool:
        return self.side == Side.LEAD

    @property
    def other_side(self) -> str:
        return Side.PARTNER if self.is_lead else Side.LEAD

    @property
    def can_edit_settings(self) -> bool:
        """Settings, value thesis, stage: the lead's, or both sides' if the lead allows it."""
        return self.scope.can_edit and (self.is_lead or self.alliance.partner_may_edit_settings)

    @property
    def can_edit_shared(self) -> bool:
        """Shared operating records (journal, contacts of one's own side)."""
        return self.scope.can_edit and not self.alliance.is_archived

    def require_settings(self):
        self.scope.require_edit()
        if not self.can_edit_settings:
            raise PermissionDenied("Only the lead organisation edits this alliance's settings.")
        if self.alliance.is_archived:
            raise PermissionDenied("This alliance is archived. Restore it to make changes.")

    def require_shared(self):
        self.scope.require_edit()
        if self.alliance.is_archived:
            raise PermissionDenied("This alliance is archived. Restore it to make changes.")

    def require_lead(self):
        self.scope.require_edit()
        if not self.is_lead:
            raise PermissionDenied("Only the lead organisation can do this.")

    def require_side(self, side: str):
        self.require_shared()
        if side != self.side:
            raise PermissionDenied("Each side manages its own contacts.")


@dataclass(frozen=True)
class SharedScope:
    """What both parties of an alliance see alike, for what goes to both of them (e.g. the
    steering digest emailed to both sides' steering members): the rows each party may see,
    intersected, so nothing either side keeps internal. Read-only: it has no user."""

    alliance: Alliance

    def rows(self, model_or_queryset):
        queryset = getattr(model_or_queryset, "objects", model_or_queryset).all()
        rows = queryset.visible_to(self.alliance.lead_organization)
        if self.alliance.partner_organization_id:
            rows = rows.visible_to(self.alliance.partner_organization)
        if issubclass(rows.model, SideOwned):
            rows = rows.filter(visibility=Visibility.SHARED)
        return rows


def memberships_of(user) -> list[Membership]:
    """All of a user's memberships, by organisation name: one query."""
    return list(
        Membership.objects.filter(user=user)
        .select_related("organization", "user")
        .order_by("organization__name")
    )


def scope_for(user, org_slug: str, memberships: list[Membership] | None = None) -> Scope:
    """The user's scope in the organisation ``org_slug``: a 404 if they are not a member.
    Picks it from ``memberships`` (``memberships_of(user)``) when given."""
    if memberships is None:
        memberships = memberships_of(user)
    membership = next((m for m in memberships if m.organization.slug == org_slug), None)
    if membership is None:
        raise Http404("No such organisation.")
    return Scope(membership)


ALLIANCE_RELATED = ("lead_organization", "partner_organization")


def tenant_view(view):
    """Resolve ``request.scope`` from the URL's ``org`` and pass it to the view."""

    @wraps(view)
    def wrapper(request, org, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        # One query serves both the scope and the header's organisation switcher.
        request.my_memberships = memberships_of(request.user)
        scope = scope_for(request.user, org, request.my_memberships)
        request.scope = scope
        if request.session.get("organization") != scope.organization.slug:
            request.session["organization"] = scope.organization.slug  # where "/" goes next
        return view(request, scope, *args, **kwargs)

    return wrapper


def alliance_view(view):
    """Like ``tenant_view``, and also resolve the URL's ``alliance`` within the scope."""

    @wraps(view)
    @tenant_view
    def wrapper(request, scope, alliance, *args, **kwargs):
        obj = scope.get(Alliance.objects.select_related(*ALLIANCE_RELATED), pk=alliance)
        here = AllianceScope(scope, obj)
        request.alliance_scope = here
        return view(request, here, *args, **kwargs)

    return wrapper
