"""Forms of the managers' survey pages: schedules, the question bank, off-cycle rounds."""

from django import forms
from django.core.exceptions import ValidationError

from alliances.models import Stage

from .models import Cadence, Question
from .services import Schedule, parse_reminder_days

NO_REMINDERS = "none"
DAY_ERROR = "Pick a day from 1 to 28, so that every month has it."
WINDOW_ERROR = "A round stays open for 2 to 28 days."


def reminder_text(days) -> str:
    return ", ".join(str(day) for day in days) if days else ""


class ScheduleForm(forms.Form):
    """Cadence, opening day, days open and reminder days. ``defaults`` is the schedule an
    empty field falls back to; without it every field is required (an organisation's own
    defaults)."""

    cadence = forms.ChoiceField(label="How often rounds run", choices=Cadence.choices)
    open_day = forms.IntegerField(
        label="Opening day",
        min_value=1,
        max_value=28,
        error_messages={"min_value": DAY_ERROR, "max_value": DAY_ERROR},
        help_text="The day of the period's first month on which a round opens (1 to 28).",
    )
    window_days = forms.IntegerField(
        label="Days open",
        min_value=2,
        max_value=28,
        error_messages={"min_value": WINDOW_ERROR, "max_value": WINDOW_ERROR},
        help_text="How many days people have to answer (2 to 28).",
    )
    reminder_days = forms.CharField(
        label="Reminder days",
        required=False,
        help_text="Days after opening on which people who have not answered yet get a "
        "reminder, for example “3, 7”. Leave empty for no reminders.",
    )

    def __init__(self, *args, defaults: Schedule | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.defaults = defaults
        if defaults is None:
            return
        self.fields["cadence"].choices = [
            ("", f"Organisation default ({defaults.cadence_label})"),
            *Cadence.choices,
        ]
        self.fields["cadence"].required = False
        for name, value in (("open_day", defaults.open_day), ("window_days", defaults.window_days)):
            self.fields[name].required = False
            self.fields[name].widget.attrs["placeholder"] = str(value)
            self.fields[name].help_text += f" Leave empty for the default ({value})."
        reminders = reminder_text(defaults.reminder_days) or NO_REMINDERS
        self.fields["reminder_days"].widget.attrs["placeholder"] = reminders
        self.fields["reminder_days"].help_text = (
            "Days after opening on which people who have not answered yet get a reminder, "
            f"for example “3, 7”. Leave empty for the default ({reminders}); "
            f"write “{NO_REMINDERS}” for no reminders."
        )

    def clean(self):
        data = super().clean()
        if "window_days" not in data or "reminder_days" not in data:
            return data
        text = data["reminder_days"].strip()
        window = data["window_days"] or (self.defaults.window_days if self.defaults else None)
        if self.defaults is not None and not text:
            data["reminder_days"] = None  # follow the default
        elif text.lower() == NO_REMINDERS:
            data["reminder_days"] = []
        elif window:
            try:
                data["reminder_days"] = parse_reminder_days(text, window_days=window)
            except ValidationError as error:
                self.add_error("reminder_days", error)
        return data


class SurveySettingsForm(ScheduleForm):
    paused = forms.BooleanField(
        label="Pause pulse surveys",
        required=False,
        help_text="No new rounds open while paused. A round that is already open runs to its end.",
    )


class OffCycleRoundForm(forms.Form):
    reason = forms.CharField(
        label="Why now?",
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="For example “a reorganisation on their side” or “after the pricing dispute”. "
        "People see it at the top of the survey, so they know why they are asked between "
        "the usual rounds.",
    )


class QuestionForm(forms.ModelForm):
    stages = forms.TypedMultipleChoiceField(
        label="Stages where it matters most",
        choices=Stage.choices,
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Pick at least one stage."},
    )

    class Meta:
        model = Question
        fields = ["corner", "text", "stages"]
        widgets = {"text": forms.Textarea(attrs={"rows": 2})}

    def validate_unique(self):
        """The service checks for duplicates within the organisation's bank."""
