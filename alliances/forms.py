from django import forms
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError

from .models import (
    VALUE_THESIS_FIELDS,
    AdaptationTrigger,
    Alliance,
    Contact,
    FitCriterion,
    GateItem,
    JournalEntry,
    LessonsLearned,
    Organization,
    Outcome,
    Role,
    Stage,
)

MAX_CSV_BYTES = 1024 * 1024


def posted(request, *, files: bool = False):
    """Form data for a POST, even an empty one (which must show errors), else None."""
    if request.method != "POST":
        return None
    return request.FILES if files else request.POST


def apply_errors(form: forms.Form, error: ValidationError, aliases: dict | None = None) -> None:
    """Show a service's ValidationError on the form: on its field where there is one.

    ``aliases`` maps a service's field name to the form's, where the two differ.
    """
    if hasattr(error, "error_dict"):
        for field, messages in error.message_dict.items():
            field = (aliases or {}).get(field, field)
            form.add_error(field if field in form.fields else None, messages)
    else:
        form.add_error(None, error.messages)


class DateInput(forms.DateInput):
    input_type = "date"


class AllianceForm(forms.ModelForm):
    partner_email = forms.EmailField(
        label="Partner contact's email",
        required=False,
        help_text="We email them an invitation to join the alliance on Concord. "
        "You can also invite them later.",
    )

    class Meta:
        model = Alliance
        fields = [
            "name",
            "partner_name",
            "model",
            "strategic_importance",
            "start_date",
            "renewal_date",
            "partner_may_edit_settings",
            *VALUE_THESIS_FIELDS,
        ]
        widgets = {
            "start_date": DateInput,
            "renewal_date": DateInput,
            "strategic_importance": forms.Select(
                choices=[
                    (n, f"{n} – {label}")
                    for n, label in enumerate(
                        ["nice to have", "useful", "important", "very important", "critical"],
                        start=1,
                    )
                ]
            ),
            **{name: forms.Textarea(attrs={"rows": 3}) for name in VALUE_THESIS_FIELDS[1:]},
        }

    def __init__(self, *args, creating: bool, is_lead: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        if not is_lead:
            del self.fields["partner_may_edit_settings"]  # the lead's to grant
        if not creating:
            del self.fields["partner_email"]
            if self.instance.partner_organization_id:
                self.fields["partner_name"].disabled = True

    def clean(self):
        data = super().clean()
        start, renewal = data.get("start_date"), data.get("renewal_date")
        if start and renewal and renewal < start:
            self.add_error("renewal_date", "The renewal date cannot be before the start date.")
        return data

    def validate_unique(self):
        """Uniqueness of the name is checked by the service, which knows the lead."""


class PartnerInviteForm(forms.Form):
    email = forms.EmailField(label="Partner contact's email")


class ContactForm(forms.ModelForm):
    class Meta:
        model = Contact
        fields = ["name", "email", "function", "title", "is_active", "takes_pulse"]
        help_texts = {
            "takes_pulse": "Invited to each pulse survey round while active. Someone who "
            "unsubscribed from the survey emails stays unsubscribed whatever this says: only "
            "they can sign up again, from the link in a survey email.",
        }

    def validate_unique(self):
        """The service checks e-mail uniqueness within the alliance."""


class ContactImportForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text="First line: name,email,function. Function is optional "
        "(for example “Sales” or “Executive sponsor”).",
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_CSV_BYTES:
            raise ValidationError("The file is larger than 1 MB. Split it and import each part.")
        return upload


class JournalForm(forms.ModelForm):
    class Meta:
        model = JournalEntry
        fields = ["body", "visibility"]
        labels = {"body": "Note"}
        widgets = {"body": forms.Textarea(attrs={"rows": 3}), "visibility": forms.RadioSelect}


class TriggerForm(forms.ModelForm):
    class Meta:
        model = AdaptationTrigger
        fields = ["condition", "response"]


class TriggerFireForm(forms.Form):
    note = forms.CharField(
        label="What happened?", widget=forms.Textarea(attrs={"rows": 2}), max_length=2000
    )


class PartnerFitForm(forms.Form):
    def __init__(self, *args, initial_scores=None, **kwargs):
        super().__init__(*args, **kwargs)
        initial_scores = initial_scores or {}
        for criterion, label in FitCriterion.choices:
            score, red_flag = initial_scores.get(criterion, (None, ""))
            self.fields[f"{criterion}_score"] = forms.TypedChoiceField(
                label=label,
                choices=[("", "–")] + [(n, str(n)) for n in range(1, 6)],
                coerce=int,
                initial=score,
            )
            self.fields[f"{criterion}_red_flag"] = forms.CharField(
                label=f"{label}: red flag", required=False, max_length=300, initial=red_flag
            )

    def rows(self):
        return [
            (label, self[f"{criterion}_score"], self[f"{criterion}_red_flag"])
            for criterion, label in FitCriterion.choices
        ]

    def scores(self) -> dict[str, tuple[int, str]]:
        return {
            criterion: (
                self.cleaned_data[f"{criterion}_score"],
                self.cleaned_data[f"{criterion}_red_flag"].strip(),
            )
            for criterion in FitCriterion.values
        }


class StageAdvanceForm(forms.Form):
    note = forms.CharField(
        label="Why is the alliance ready to move on?",
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        max_length=2000,
    )
    override_reason = forms.CharField(
        label="Reason to move on with unmet gate items",
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        max_length=2000,
    )
    outcome = forms.ChoiceField(
        choices=[("", "Choose…"), *Outcome.choices], required=False, label="Outcome"
    )


class LessonsForm(forms.ModelForm):
    class Meta:
        model = LessonsLearned
        fields = [
            "what_worked",
            "what_did_not",
            "lead_would_change",
            "partner_would_change",
            "joint_customers",
            "intellectual_property",
            "data",
        ]
        widgets = {name: forms.Textarea(attrs={"rows": 2}) for name in fields}


class StageBackForm(forms.Form):
    to_stage = forms.TypedChoiceField(label="Back to", coerce=int, choices=())
    reason = forms.CharField(
        label="Why move back?", widget=forms.Textarea(attrs={"rows": 2}), max_length=2000
    )

    def __init__(self, *args, current_stage: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to_stage"].choices = [
            (value, label) for value, label in Stage.choices if value < current_stage
        ]


class MemberInviteForm(forms.Form):
    email = forms.EmailField()
    role = forms.ChoiceField(choices=Role.choices, initial=Role.VIEWER)


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class GateItemForm(forms.ModelForm):
    class Meta:
        model = GateItem
        fields = ["stage", "text"]


class SignupForm(forms.Form):
    """Set a name and password when accepting an invitation as a new user."""

    full_name = forms.CharField(max_length=150, label="Your name")
    password1 = forms.CharField(label="Password", widget=forms.PasswordInput, strip=False)
    password2 = forms.CharField(label="Password again", widget=forms.PasswordInput, strip=False)

    def __init__(self, *args, email: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.email = email

    def clean(self):
        data = super().clean()
        p1, p2 = data.get("password1"), data.get("password2")
        if p1 and p2 and p1 != p2:
            self.add_error("password2", "The two passwords differ.")
        elif p1:
            from .models import User

            try:
                password_validation.validate_password(
                    p1, User(email=self.email, full_name=data.get("full_name", ""))
                )
            except ValidationError as error:
                self.add_error("password1", error)
        return data


class PartnerAcceptForm(forms.Form):
    organization = forms.ModelChoiceField(
        queryset=Organization.objects.none(),
        required=False,
        empty_label="A new organisation (named below)",
        label="Join as",
    )
    new_organization_name = forms.CharField(
        max_length=120, required=False, label="New organisation's name"
    )

    def __init__(self, *args, organizations, default_name: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organization"].queryset = organizations
        self.fields["new_organization_name"].initial = default_name
        if not organizations.exists():
            del self.fields["organization"]

    def clean(self):
        data = super().clean()
        if not data.get("organization") and not data.get("new_organization_name", "").strip():
            self.add_error("new_organization_name", "Name the organisation you will join as.")
        return data
