"""What every API endpoint does alike: error bodies, pagination, throttling, idempotent
writes and conditional GETs. Views get these from ``base.ScopedViewSet``; nothing here
knows about a particular resource."""

import hashlib
import json
import re
from datetime import timedelta
from functools import wraps

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.http import Http404
from rest_framework import exceptions, serializers, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle

from ..models import ApiToken, IdempotencyKey

# --- error bodies ---------------------------------------------------------------------------


class ErrorSerializer(serializers.Serializer):
    """Every error the API answers has this body."""

    status = serializers.IntegerField(help_text="The HTTP status code, repeated.")
    code = serializers.CharField(help_text="A stable, machine-readable reason.")
    detail = serializers.CharField(help_text="What went wrong, for a person.")
    errors = serializers.DictField(
        required=False,
        help_text="On a 400: the messages per field; `non_field_errors` for the request as a "
        "whole; for a bulk request, per item index.",
    )


def django_errors(error: DjangoValidationError):
    if hasattr(error, "error_dict"):
        return {
            ("non_field_errors" if field == "__all__" else field): messages
            for field, messages in error.message_dict.items()
        }
    return {"non_field_errors": error.messages}


def exception_handler(exc, context):
    """DRF's handler, with Django's ValidationError (raised by services) as a 400, and every
    error in one shape: ``{status, code, detail, errors?}``."""
    # Imported here: rest_framework.views reads the settings that name this module.
    from rest_framework.views import exception_handler as drf_exception_handler

    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(django_errors(exc))
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()  # the same answer for "not there" and "not yours"
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        errors = response.data
        if isinstance(errors, list):
            errors = {"non_field_errors": errors}
        body = {
            "status": response.status_code,
            "code": "invalid",
            "detail": "The request has errors; see `errors`.",
            "errors": errors,
        }
    else:
        codes = exc.get_codes()
        body = {
            "status": response.status_code,
            "code": codes if isinstance(codes, str) else "error",
            "detail": str(exc.detail),
        }
        if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
            body["detail"] = f"Too many requests. Try again in {int(exc.wait) + 1} seconds."
    response.data = body
    return response


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "This request conflicts with an earlier one."
    default_code = "conflict"


# --- pagination -----------------------------------------------------------------------------


class Pagination(PageNumberPagination):
    """Pages of 50 by default; ``page_size`` up to 200. A larger size is an error, not
    quietly cut, so a client that asked for 1,000 knows it did not get them."""

    page_size = 50
    max_page_size = 200
    page_size_query_param = "page_size"

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        message = f"Give a whole number from 1 to {self.max_page_size}."
        try:
            size = int(raw)
        except ValueError as error:
            raise exceptions.ValidationError({"page_size": [message]}) from error
        if not 1 <= size <= self.max_page_size:
            raise exceptions.ValidationError({"page_size": [message]})
        return size


# --- throttling -----------------------------------------------------------------------------


def client_of(request) -> str:
    """Who is calling: the token (each token its own budget), else the signed-in user."""
    if isinstance(request.auth, ApiToken):
        return f"token:{request.auth.pk}"
    return f"user:{request.user.pk}"


class ClientRateThrottle(SimpleRateThrottle):
    """``API_RATE_LIMIT`` requests per client (token or session user)."""

    scope = "api"

    def get_rate(self):
        return settings.API_RATE_LIMIT

    def get_cache_key(self, request, view):
        if not request.user or not request.user.is_authenticated:
            return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
        return self.cache_format % {"scope": self.scope, "ident": client_of(request)}


# --- idempotent writes ----------------------------------------------------------------------

IDEMPOTENCY_HEADER = "Idempotency-Key"
# How long a first answer is kept for replay; a client retries within minutes, not days.
IDEMPOTENCY_KEEP = timedelta(hours=24)
_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")


def _request_hash(request) -> str:
    body = json.dumps(request.data, sort_keys=True, default=str)
    raw = f"{request.method} {request.path}\n{body}"
    return hashlib.sha256(raw.encode()).hexdigest()


def idempotent(action):
    """Replay the first successful answer to a write sent again with the same
    ``Idempotency-Key``; the same key with a different request is a 409.

    The key is claimed in the write's own transaction: a write that fails (an error, a
    crash) releases it, so the client may retry; two concurrent sends with one key meet at
    the unique constraint, and the second replays the first's answer.
    """

    @wraps(action)
    def wrapper(view, request, *args, **kwargs):
        key = request.headers.get(IDEMPOTENCY_HEADER)
        if key is None:
            return action(view, request, *args, **kwargs)
        if not _KEY.match(key):
            raise exceptions.ValidationError(
                {IDEMPOTENCY_HEADER: ["Use 1 to 255 printable ASCII characters, no spaces."]}
            )
        identity = {"organization": view.scope.organization, "client": client_of(request)}
        digest = _request_hash(request)
        with transaction.atomic():
            try:
                with transaction.atomic():
                    claim = IdempotencyKey.objects.create(
                        **identity, key=key, request_hash=digest, status_code=0
                    )
            except IntegrityError:
                first = IdempotencyKey.objects.get(**identity, key=key)
                if first.request_hash != digest:
                    raise Conflict(
                        "This Idempotency-Key was already used with a different request. "
                        "Use a new key for a new request."
                    ) from None
                return Response(
                    first.response_body,
                    status=first.status_code,
                    headers={"Idempotent-Replayed": "true"},
                )
            response = action(view, request, *args, **kwargs)
            if response.status_code >= 300:
                transaction.set_rollback(True)  # not a result to replay: free the key
                return response
            claim.status_code = response.status_code
            claim.response_body = response.data
            claim.save(update_fields=["status_code", "response_body"])
        return response

    wrapper.idempotent = True
    return wrapper


def idempotency_keys_expire(*, now) -> int:
    """The periodic job: forget first answers older than ``IDEMPOTENCY_KEEP`` (one DELETE)."""
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=now - IDEMPOTENCY_KEEP).delete()
    return deleted


# --- conditional GET ------------------------------------------------------------------------


def conditional(request, tag: str | None, build) -> Response:
    """``build()`` answered with an ``ETag``; a 304 without building when the client's
    ``If-None-Match`` already holds it. ``tag`` None (no version known) just builds."""
    if tag is None:
        return build()
    etag = f'"{tag}"'
    held = request.headers.get("If-None-Match", "")
    if held.strip() == "*" or etag in [part.strip().removeprefix("W/") for part in held.split(",")]:
        return Response(status=status.HTTP_304_NOT_MODIFIED, headers={"ETag": etag})
    response = build()
    response["ETag"] = etag
    response["Cache-Control"] = "private, no-cache"
    return response


# --- URLs that match no route -------------------------------------------------------------


def not_found(request, exception):
    """The project's 404 handler: under /api/ the API's error body, elsewhere the page."""
    if request.path.startswith("/api/"):
        from django.http import JsonResponse

        body = {"status": 404, "code": "not_found", "detail": "Not found."}
        return JsonResponse(body, status=404)
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)
