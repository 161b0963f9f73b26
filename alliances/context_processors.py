from django.conf import settings

from .models import Membership


def tenancy(request):
    """The signed-in user's organisations, for the switcher in the header."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}

    def memberships():
        return list(
            Membership.objects.filter(user=user)
            .select_related("organization")
            .order_by("organization__name")
        )

    return {
        "my_memberships": memberships,
        "scope": getattr(request, "scope", None),
        "debug_outbox": settings.DEBUG,
    }
