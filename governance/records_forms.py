"""Forms for escalations, action items and risks. Choices of people and matrix rows come
from the alliance in the URL, so an id from elsewhere is simply not a valid choice.
Views pass an instance that already has its alliance (and author), so model validation runs."""

from django import forms

from alliances.forms import DateInput
from alliances.models import Contact, Visibility

from .models import ActionItem, DecisionRight, Escalation, Risk

SCALE = [(n, str(n)) for n in range(1, 6)]


def _owner_field(field: forms.ModelChoiceField, here) -> None:
    field.queryset = here.scope.rows(Contact.objects.filter(alliance=here.alliance))
    field.label_from_instance = lambda c: f"{c.name} ({here.alliance.party_name(c.side)})"
    field.error_messages["invalid_choice"] = "Choose a contact of this alliance."


def _visibility_field(form: forms.ModelForm, here) -> None:
    """Only the author's side chooses who sees a record; the other side cannot hide it."""
    form.fields["visibility"].widget = forms.RadioSelect(choices=Visibility.choices)
    instance = form.instance
    if instance.pk and instance.author_organization_id != here.scope.organization.pk:
        form.fields["visibility"].disabled = True
        form.fields["visibility"].help_text = "Written by the partner, who decides who sees it."


class EscalationRaiseForm(forms.ModelForm):
    class Meta:
        model = Escalation
        fields = ["title", "description", "rung", "decision_right"]
        labels = {"rung": "Starting rung", "decision_right": "Decision right it falls under"}
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, here, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["decision_right"]
        field.queryset = here.scope.rows(DecisionRight.objects.filter(alliance=here.alliance))
        field.empty_label = "None: use the default SLA"
        field.error_messages["invalid_choice"] = "Choose a row of this alliance's matrix."
        field.label_from_instance = lambda right: f"{right} (SLA {right.sla_days} days)"


class EscalationResolveForm(forms.Form):
    resolution = forms.CharField(
        label="How was it resolved?", widget=forms.Textarea(attrs={"rows": 3}), max_length=5000
    )


class ActionForm(forms.ModelForm):
    confirm_past_due = forms.BooleanField(
        label="The due date is in the past — create it anyway", required=False
    )

    class Meta:
        model = ActionItem
        fields = ["title", "details", "owner", "due_on", "status", "source", "visibility"]
        labels = {"due_on": "Due date"}
        widgets = {"details": forms.Textarea(attrs={"rows": 3}), "due_on": DateInput}

    def __init__(self, *args, here, **kwargs):
        super().__init__(*args, **kwargs)
        _owner_field(self.fields["owner"], here)
        _visibility_field(self, here)
        if self.instance.pk:
            del self.fields["confirm_past_due"]  # only new actions may not start overdue
        else:
            self.order_fields(["title", "details", "owner", "due_on", "confirm_past_due"])


class RiskForm(forms.ModelForm):
    class Meta:
        model = Risk
        fields = [
            "title",
            "category",
            "likelihood",
            "impact",
            "owner",
            "mitigation",
            "status",
            "visibility",
        ]
        widgets = {
            "likelihood": forms.NumberInput(attrs={"min": 1, "max": 5}),
            "impact": forms.NumberInput(attrs={"min": 1, "max": 5}),
            "mitigation": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args, here, **kwargs):
        super().__init__(*args, **kwargs)
        _owner_field(self.fields["owner"], here)
        self.fields["owner"].empty_label = "Nobody yet"
        _visibility_field(self, here)
