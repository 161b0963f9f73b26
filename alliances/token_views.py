"""Personal API tokens: each member makes and revokes their own; admins see and can revoke
every token of the organisation (someone who left, a leaked key)."""

from django import forms
from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_POST

from .api.auth import api_token_create, api_token_revoke
from .forms import posted
from .models import ApiToken
from .tenancy import tenant_view


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        label="What will use it?",
        max_length=80,
        help_text="A name to recognise the token by later, e.g. “CRM sync” or “BI dashboard”.",
    )


def _tokens(scope):
    tokens = scope.rows(ApiToken).select_related("user")
    return tokens if scope.is_admin else tokens.filter(user=scope.user)


@tenant_view
def api_tokens(request, scope):
    form = ApiTokenForm(posted(request))
    key = None
    if request.method == "POST" and form.is_valid():
        token, key = api_token_create(membership=scope.membership, name=form.cleaned_data["name"])
        form = ApiTokenForm()
    response = render(
        request,
        "accounts/api_tokens.html",
        {
            "scope": scope,
            "form": form,
            "new_key": key,
            "tokens": _tokens(scope).order_by("revoked_at", "-created_at"),
        },
        status=400 if form.errors else 200,
    )
    if key:  # the key is on this page only: never cached, never shown again
        response["Cache-Control"] = "no-store"
    return response


@require_POST
@tenant_view
def api_token_revoke_view(request, scope, token):
    token = scope.get(_tokens(scope), pk=token)
    api_token_revoke(token=token)
    messages.success(request, f"Token “{token.name}” revoked. Calls with it now get a 401.")
    return redirect("api_tokens", scope.organization.slug)


org_patterns = [
    path("settings/api-tokens/", api_tokens, name="api_tokens"),
    path(
        "settings/api-tokens/<int:token>/revoke/",
        api_token_revoke_view,
        name="api_token_revoke",
    ),
]
