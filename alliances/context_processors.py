from django.conf import settings

from .tenancy import memberships_of


def tenancy(request):
    """The signed-in user's organisations, for the switcher in the header."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}

    def memberships():
        # A tenant page has read them already (alliances.tenancy.tenant_view).
        mine = getattr(request, "my_memberships", None)
        return mine if mine is not None else memberships_of(user)

    return {
        "my_memberships": memberships,
        "scope": getattr(request, "scope", None),
        "debug_outbox": settings.DEBUG,
    }
