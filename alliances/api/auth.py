"""Personal API tokens: ``Authorization: Bearer <key>``.

A key is ``ck_`` + 43 random characters. Only its SHA-256 is stored, so a leaked database
does not leak keys; the key is shown once, when it is made. A token belongs to one user and
one organisation and carries that user's *current* role there: removing the member or
downgrading them takes effect on the next request.
"""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from rest_framework import authentication, exceptions

from ..audit import audit_record
from ..models import ApiToken, AuditAction, Membership
from ..tokens import new_token, token_hash

KEY_PREFIX = "ck_"
# last_used_at is written at most this often per token, so reads do not all become writes.
LAST_USED_GRANULARITY = timedelta(minutes=1)


def api_token_create(*, membership: Membership, name: str) -> tuple[ApiToken, str]:
    """A new token for the member; returns it with the key, which is never stored."""
    secret, _ = new_token()
    key = KEY_PREFIX + secret
    token = ApiToken.objects.create(
        organization=membership.organization,
        user=membership.user,
        name=name.strip(),
        prefix=key[:10],
        token_hash=token_hash(key),
    )
    audit_record(
        organizations=[token.organization],
        action=AuditAction.API_TOKEN_CREATED,
        summary=f"API token “{token.name}” ({token.prefix}…) created for {token.user.email}.",
        target=f"api token {token.pk}",
    )
    return token, key


def api_token_revoke(*, token: ApiToken) -> ApiToken:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit_record(
            organizations=[token.organization_id],
            action=AuditAction.API_TOKEN_REVOKED,
            summary=f"API token “{token.name}” ({token.prefix}…) of {token.user.email} revoked.",
            target=f"api token {token.pk}",
        )
    return token


class TokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(
                "Send the key as 'Authorization: Bearer <key>', with no spaces in the key."
            )
        try:
            key = header[1].decode()
        except UnicodeError as error:
            raise exceptions.AuthenticationFailed(
                "This key is unknown or has been revoked."
            ) from error
        token = (
            ApiToken.objects.select_related("user", "organization")
            .filter(token_hash=token_hash(key), revoked_at__isnull=True)
            .first()
        )
        if token is None or not token.user.is_active:
            raise exceptions.AuthenticationFailed("This key is unknown or has been revoked.")
        now = timezone.now()
        if token.last_used_at is None or now - token.last_used_at >= LAST_USED_GRANULARITY:
            # A plain UPDATE that does not wait for or join the request's transaction.
            with transaction.atomic():
                ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
            token.last_used_at = now
        return token.user, token

    def authenticate_header(self, request):
        return f'{self.keyword} realm="api"'
