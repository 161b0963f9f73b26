"""Forms for bodies, meetings, the decision-rights matrix and the decision log.

Every choice of a related row is limited to the alliance in hand, so a tampered id from
another alliance is refused as a field error before any service runs.
"""

from django import forms
from django.db.models import Q

from alliances.forms import DateInput
from alliances.models import Side

from .models import (
    DEFAULT_CADENCE,
    Decision,
    DecisionRight,
    GovernanceBody,
    Meeting,
    Tier,
)

NOT_A_CONTACT = "Choose people who are contacts of this alliance."


def _cadence_help() -> str:
    defaults = "; ".join(
        f"{Tier(tier).label.lower()}: {cadence.label.lower()}"
        for tier, cadence in DEFAULT_CADENCE.items()
    )
    return f"Leave blank for the tier's default ({defaults})."


class TimeInput(forms.TimeInput):
    input_type = "time"


class BodyForm(forms.ModelForm):
    class Meta:
        model = GovernanceBody
        fields = ["name", "tier", "cadence", "purpose", "chair", "members"]
        widgets = {
            "purpose": forms.Textarea(attrs={"rows": 2}),
            "members": forms.CheckboxSelectMultiple,
        }

    def __init__(self, *args, contacts, party_name, **kwargs):
        """``contacts``: the alliance's contacts a body may draw on, already scoped."""
        super().__init__(*args, **kwargs)
        current = self.instance.members.all() if self.instance.pk else []
        eligible = contacts.filter(Q(is_active=True) | Q(pk__in=[c.pk for c in current]))
        self.fields["cadence"].required = False
        self.fields["cadence"].help_text = _cadence_help()
        self.fields["chair"].queryset = eligible
        self.fields["chair"].help_text = "The chair is added to the members."
        self.fields["members"].queryset = eligible
        self.fields["members"].help_text = ""
        for name in ("chair", "members"):
            self.fields[name].label_from_instance = lambda c: (
                f"{c.name} ({party_name(c.side)})" + (f", {c.title}" if c.title else "")
            )
        for name in ("chair", "members"):
            self.fields[name].error_messages["invalid_choice"] = NOT_A_CONTACT
            self.fields[name].error_messages["invalid_pk_value"] = NOT_A_CONTACT
        self.party_name = party_name
        self._sides = {c.pk: c.side for c in eligible}

    def member_groups(self):
        """The members' checkboxes, one group per side, for a fieldset each."""
        widgets = list(self["members"])
        return [
            (
                f"{self.party_name(side)} ({label.lower()})",
                [w for w in widgets if self._sides.get(int(str(w.data["value"]))) == side],
            )
            for side, label in Side.choices
        ]

    def validate_unique(self):
        """The service checks the name, case-insensitively, within the alliance."""


class MeetingForm(forms.ModelForm):
    class Meta:
        model = Meeting
        fields = ["held_on", "starts_at", "duration_minutes", "agenda", "notes", "attendees"]
        labels = {
            "held_on": "Date",
            "starts_at": "Start time",
            "duration_minutes": "Duration in minutes",
        }
        widgets = {
            "held_on": DateInput,
            "starts_at": TimeInput,
            "agenda": forms.Textarea(attrs={"rows": 3}),
            "notes": forms.Textarea(attrs={"rows": 4}),
            "attendees": forms.CheckboxSelectMultiple,
        }

    def __init__(self, *args, contacts, members, party_name, **kwargs):
        """Any contact of the alliance is accepted here, so the service can name a non-member;
        only the body's ``members`` are offered."""
        super().__init__(*args, **kwargs)
        field = self.fields["attendees"]
        field.queryset = contacts
        field.widget.choices = [(c.pk, f"{c.name} ({party_name(c.side)})") for c in members]
        field.error_messages["invalid_choice"] = NOT_A_CONTACT
        field.error_messages["invalid_pk_value"] = NOT_A_CONTACT
        field.help_text = "Who came."
        self.fields["duration_minutes"].min_value = 1
        self.fields["duration_minutes"].widget.attrs.update(min=1, max=1440)

    def clean_duration_minutes(self):
        minutes = self.cleaned_data["duration_minutes"]
        if minutes is not None and not 1 <= minutes <= 1440:
            raise forms.ValidationError("A meeting lasts between 1 minute and 24 hours.")
        return minutes


class DecisionTakenForm(forms.Form):
    """One optional "decision taken" row of a meeting."""

    decision = forms.CharField(
        required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )
    rationale = forms.CharField(
        required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )

    def clean(self):
        data = super().clean()
        if data.get("rationale", "").strip() and not data.get("decision", "").strip():
            self.add_error("decision", "Write the decision, or clear its rationale.")
        return data


DecisionsTakenFormSet = forms.formset_factory(DecisionTakenForm, extra=3, max_num=10)


class DecisionRightForm(forms.ModelForm):
    # A plain integer field, so every value out of range gets the same message.
    sla_days = forms.IntegerField(
        label="SLA in days",
        help_text=DecisionRight._meta.get_field("sla_days").help_text,
        widget=forms.NumberInput(attrs={"min": 1, "max": 365}),
    )

    class Meta:
        model = DecisionRight
        fields = [
            "decision_type",
            "owner",
            "joint_approval",
            "forum",
            "sla_days",
            "escalation_rung",
        ]

    def clean_sla_days(self):
        days = self.cleaned_data["sla_days"]
        if days is not None and not 1 <= days <= 365:
            raise forms.ValidationError("The SLA is between 1 and 365 days.")
        return days

    def validate_unique(self):
        """The service checks the decision type, case-insensitively, within the matrix."""


class DecisionForm(forms.ModelForm):
    class Meta:
        model = Decision
        fields = ["decision", "forum", "decided_on", "rationale", "meeting", "decision_right"]
        labels = {"decided_on": "Decided on", "decision_right": "Decision right"}
        widgets = {
            "decision": forms.Textarea(attrs={"rows": 2}),
            "rationale": forms.Textarea(attrs={"rows": 3}),
            "decided_on": DateInput,
        }

    def __init__(self, *args, meetings, rights, **kwargs):
        super().__init__(*args, **kwargs)
        choices = {
            "meeting": (meetings, "Choose a meeting of this alliance."),
            "decision_right": (rights, "Choose a row of this alliance's matrix."),
        }
        for name, (queryset, message) in choices.items():
            field = self.fields[name]
            field.queryset = queryset
            field.error_messages["invalid_choice"] = message
        self.fields["meeting"].empty_label = "Not taken in a recorded meeting"
        self.fields["decision_right"].empty_label = "None"
