"""The OpenAPI schema: every operation documents the errors it can answer, in one shape."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from rest_framework import serializers

from .conventions import ErrorSerializer

ERRORS = {
    "400": "The request has errors: `errors` holds the messages per field.",
    "401": "No valid key or session: send `Authorization: Bearer <key>`.",
    "403": "Your role may not do this (e.g. a viewer writing, or the partner editing the "
    "lead's settings).",
    "404": "No such object, or not one of your organisation's: the two look the same.",
    "409": "The Idempotency-Key was already used with a different request.",
    "415": "Send `Content-Type: application/json`.",
    "429": "Too many requests from this key; `Retry-After` says when to try again.",
}


class ApiSchema(AutoSchema):
    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        if isinstance(field, serializers.TimeField):
            # A local time of day ("14:00:00"), which JSON Schema's "time" format (RFC 3339,
            # with an offset) would call invalid.
            return {"type": "string", "pattern": r"^\d{2}:\d{2}(:\d{2}(\.\d+)?)?$"}
        return super()._map_serializer_field(field, direction, bypass_extensions)

    def get_request_serializer(self):
        if self.method in ("POST", "PATCH", "PUT"):
            action = getattr(self.view, "action", None)
            if action in ("create", "partial_update") and getattr(
                self.view, "input_serializer", None
            ):
                return self.view.input_serializer
        return super().get_request_serializer()

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        # Any call may carry a bad parameter: a filter, a page size, a query value.
        codes = ["400", "401", "404", "429"]
        if self.method not in ("GET", "HEAD", "OPTIONS"):
            codes += ["403", "415"]
            handler = getattr(self.view, self.view.action, None) if self.view.action else None
            if getattr(handler, "idempotent", False):
                codes.append("409")
        for code in codes:
            if code not in responses:
                responses[code] = self._get_response_for_code(
                    ErrorSerializer, code, direction=direction
                )
                responses[code]["description"] = ERRORS[code]
        return responses


class TokenScheme(OpenApiAuthenticationExtension):
    target_class = "alliances.api.auth.TokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A personal API token, made under *API tokens* in Concord.",
        }
