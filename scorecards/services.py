"""Writes of the health pages: thresholds (with the lights following at once) and the
acknowledge → resolve lifecycle of alerts.

Thresholds are an organisation's defaults (all stages, or one stage) or an alliance's
overrides (all stages, or one stage); ``rules.ThresholdBook`` picks the most specific one.
An alliance's overrides are the alliance's settings, so they are kept under its lead
organisation (the book reads them by alliance) whichever side saved them.
"""

import logging
from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from alliances import webhooks
from alliances.audit import audit_record
from alliances.models import Alliance, AuditAction, Organization, Side, Stage, User

from . import alerts, freshness
from .models import Alert, AlertStatus, Threshold
from .rules import Thresholds, threshold_lookup

RESOLUTION_MAX = 300

log = logging.getLogger(__name__)


# --- thresholds -----------------------------------------------------------------------------


def threshold_errors(*, green_from: float, red_below: float) -> dict[str, list[str]]:
    """What is wrong with one pair of thresholds, per field, in words."""
    errors: dict[str, list[str]] = {}
    for name, value, word in (
        ("green_from", green_from, "Green"),
        ("red_below", red_below, "Red"),
    ):
        # Written so that NaN fails too.
        if not 0 <= value <= 100:
            errors[name] = [f"{word} must be a score from 0 to 100; {value:g} is off the scale."]
    if not errors and red_below > green_from:
        errors["red_below"] = [
            f"Red must begin at or below where green starts ({green_from:g}); "
            f"{red_below:g} would leave no room for yellow."
        ]
    return errors


def _settings_owner(*, organization: Organization, alliance: Alliance) -> Organization:
    """The organisation whose alliance settings these are, if ``organization`` may set them."""
    lead = alliance.lead_organization_id == organization.pk
    partner = alliance.partner_organization_id == organization.pk
    if not (lead or (partner and alliance.partner_may_edit_settings)):
        raise ValidationError(
            f"Only {alliance.party_name(Side.LEAD)} sets the thresholds of {alliance}."
        )
    return alliance.lead_organization


def _key(*, organization: Organization, alliance: Alliance | None, stage: int | None) -> dict:
    if stage is not None and stage not in Stage.values:
        raise ValidationError({"stage": ["Pick one of the five lifecycle stages."]})
    if alliance is None:
        return {"organization": organization, "alliance": None, "stage": stage}
    return {"alliance": alliance, "stage": stage}


def _affected(*, organization: Organization, alliance: Alliance | None) -> list[int]:
    """The alliances whose lights a change of these thresholds can move: the book reads an
    organisation's rows for the alliances it leads."""
    if alliance is not None:
        return [alliance.pk]
    return list(
        Alliance.objects.filter(lead_organization=organization).values_list("pk", flat=True)
    )


def _relight(alliance_ids: list[int]) -> None:
    if alliance_ids:
        # The lights follow at once; any alert's emails go from a worker, not this request.
        alerts.threshold_check(now=timezone.now(), alliance_ids=alliance_ids, notify=False)
        transaction.on_commit(_notify_later)


def thresholds_save(
    *,
    organization: Organization,
    alliance: Alliance | None = None,
    values: dict[int | None, tuple[float, float] | None],
    user: User | None,
) -> None:
    """Set several thresholds of one organisation or alliance at once: ``values`` maps a
    stage (None: every stage) to ``(green_from, red_below)``, or to None to remove that
    override so the next level applies. All or nothing; then the lights follow once.

    Errors are keyed ``<field>_<stage or "all">``, as ``ThresholdsForm`` names its fields.
    """
    owner = organization
    if alliance is not None:
        owner = _settings_owner(organization=organization, alliance=alliance)
    errors = {}
    for stage, pair in values.items():
        _key(organization=owner, alliance=alliance, stage=stage)
        if pair is not None:
            green_from, red_below = pair
            for name, messages in threshold_errors(
                green_from=green_from, red_below=red_below
            ).items():
                errors[f"{name}_{stage or 'all'}"] = messages
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        before = _stored(owner=owner, alliance=alliance)
        for stage, pair in values.items():
            key = _key(organization=owner, alliance=alliance, stage=stage)
            if pair is None:
                Threshold.objects.filter(**key).delete()
                continue
            Threshold.objects.update_or_create(
                **key,
                defaults={
                    "organization": owner,
                    "green_from": pair[0],
                    "red_below": pair[1],
                    "updated_by": user,
                },
            )
        changed = {
            stage: pair
            for stage, pair in values.items()
            if before.get(stage) != (tuple(pair) if pair else None)
        }
        _audit_thresholds(
            organization=organization, owner=owner, alliance=alliance, changed=changed, user=user
        )
    _relight(_affected(organization=owner, alliance=alliance))


def _stored(*, owner: Organization, alliance: Alliance | None) -> dict:
    """The stored thresholds of one organisation or alliance: {stage: (green, red)}."""
    key = _key(organization=owner, alliance=alliance, stage=None)
    del key["stage"]
    return {t.stage: (t.green_from, t.red_below) for t in Threshold.objects.filter(**key)}


def _audit_thresholds(*, organization, owner, alliance, changed, user) -> None:
    if not changed:
        return
    changes = "; ".join(
        f"{Stage(stage).label if stage else 'all stages'}: "
        + (f"green from {pair[0]:g}, red below {pair[1]:g}" if pair else "override removed")
        for stage, pair in changed.items()
    )
    audit_record(
        organizations=[organization, owner],
        action=AuditAction.THRESHOLD_CHANGED,
        summary=f"Thresholds of {f'“{alliance.name}”' if alliance else owner}: {changes}.",
        target=f"alliance {alliance.pk}" if alliance else f"organisation {owner.pk}",
        actor=user,
    )


def threshold_save(
    *,
    organization: Organization,
    alliance: Alliance | None = None,
    stage: int | None = None,
    green_from: float,
    red_below: float,
    user: User | None,
) -> Threshold:
    """Set one threshold row (organisation default, per stage, per alliance, per alliance
    and stage) and re-light the alliances it applies to. Roles are the views' business."""
    errors = threshold_errors(green_from=green_from, red_below=red_below)
    if errors:
        raise ValidationError(errors)
    thresholds_save(
        organization=organization,
        alliance=alliance,
        values={stage: (green_from, red_below)},
        user=user,
    )
    return Threshold.objects.get(**_key(organization=organization, alliance=alliance, stage=stage))


def threshold_delete(
    *, organization: Organization, alliance: Alliance | None = None, stage: int | None = None
) -> None:
    """Remove one override, so the next level (or the built-in default) applies."""
    thresholds_save(organization=organization, alliance=alliance, values={stage: None}, user=None)


@dataclass(frozen=True)
class AppliedThresholds:
    thresholds: Thresholds
    source: str  # where they come from, in words


def _notify_later() -> None:
    from .tasks import notify_alerts

    try:
        notify_alerts.delay()
    except Exception:
        log.warning("could not enqueue alert emails; the daily check will send them")


def applied_thresholds(rows: dict, alliance: Alliance, stage: int) -> AppliedThresholds:
    """The thresholds that apply to an alliance at a stage among a ``ThresholdBook``'s
    rows, and which level set them, in words."""
    thresholds, level = threshold_lookup(rows, alliance, stage)
    lead = alliance.party_name(Side.LEAD)
    stage_label = Stage(stage).label.lower()
    source = {
        "alliance_stage": f"this alliance's own, for the {stage_label} stage",
        "alliance": "this alliance's own",
        "organization_stage": f"{lead}'s for the {stage_label} stage",
        "organization": f"{lead}'s default",
        "default": "Concord's built-in default",
    }[level]
    return AppliedThresholds(thresholds, source)


# --- alerts ---------------------------------------------------------------------------------


def _who(user: User | None) -> str:
    return f" by {user.get_short_name()}" if user else ""


def alert_acknowledge(*, alert: Alert, user: User | None, now: datetime) -> Alert:
    """Someone has seen the alert and is on it. Only an open alert can be acknowledged."""
    claimed = Alert.objects.filter(pk=alert.pk, status=AlertStatus.OPEN).update(
        status=AlertStatus.ACKNOWLEDGED, acknowledged_at=now, acknowledged_by=user
    )
    alert.refresh_from_db()
    if claimed:
        freshness.changed(alliances=[alert.alliance_id])
        webhooks.alert_resolved(alert)
    else:
        if alert.status == AlertStatus.RESOLVED:
            raise ValidationError(
                f"This alert was resolved on {alert.resolved_at:%d %b %Y}; "
                "there is nothing left to acknowledge."
            )
        raise ValidationError(
            f"This alert was already acknowledged{_who(alert.acknowledged_by)} "
            f"on {alert.acknowledged_at:%d %b %Y}."
        )
    return alert


def alert_resolve(*, alert: Alert, user: User | None, note: str, now: datetime) -> Alert:
    """Close an open or acknowledged alert, saying how it was dealt with."""
    note = (note or "").strip()
    if not note:
        raise ValidationError({"note": ["Say in a sentence how it was dealt with."]})
    if len(note) > RESOLUTION_MAX:
        raise ValidationError(
            {"note": [f"Keep it to {RESOLUTION_MAX} characters; this is {len(note)}."]}
        )
    claimed = (
        Alert.objects.filter(pk=alert.pk)
        .exclude(status=AlertStatus.RESOLVED)
        .update(status=AlertStatus.RESOLVED, resolved_at=now, resolved_by=user, resolution=note)
    )
    alert.refresh_from_db()
    if claimed:
        freshness.changed(alliances=[alert.alliance_id])
        webhooks.alert_resolved(alert)
    else:
        raise ValidationError(
            f"This alert was already resolved{_who(alert.resolved_by)} on "
            f"{alert.resolved_at:%d %b %Y}: {alert.resolution}"
        )
    return alert
