"""Forms of the health pages: thresholds by level and stage, an alert's resolution, and the
alerts inbox filters."""

from dataclasses import dataclass

from django import forms

from alliances.models import Stage

from .models import AlertKind, Metric
from .rules import Thresholds
from .services import RESOLUTION_MAX, threshold_errors


@dataclass(frozen=True)
class ThresholdRow:
    """One line of a thresholds form: a stage (None: every stage), what is set there now,
    and what applies when it is left empty."""

    stage: int | None
    label: str
    current: Thresholds | None
    inherited: Thresholds
    inherited_from: str

    @property
    def key(self) -> str:
        return str(self.stage or "all")


class ScoreInput(forms.NumberInput):
    def __init__(self):
        super().__init__(attrs={"min": 0, "max": 100, "step": "any", "inputmode": "decimal"})


class ThresholdsForm(forms.Form):
    """Where green starts and red begins, for every stage and per stage. A row left empty
    inherits from the next level; range and order are checked by the service, which names
    the fields the same way (``green_from_3``, ``red_below_all``)."""

    def __init__(self, *args, rows: list[ThresholdRow], **kwargs):
        initial = {}
        for row in rows:
            if row.current is not None:
                initial[f"green_from_{row.key}"] = f"{row.current.green_from:g}"
                initial[f"red_below_{row.key}"] = f"{row.current.red_below:g}"
        super().__init__(*args, initial=initial, **kwargs)
        self.rows = rows
        for row in rows:
            for name, label in (("green_from", "Green from"), ("red_below", "Red below")):
                self.fields[f"{name}_{row.key}"] = forms.FloatField(
                    label=f"{label} ({row.label})",
                    required=False,
                    widget=ScoreInput(),
                    error_messages={"invalid": "Enter a number from 0 to 100."},
                )

    def lines(self):
        """(row, its two fields) for the template's table."""
        return [
            (row, (self[f"green_from_{row.key}"], self[f"red_below_{row.key}"]))
            for row in self.rows
        ]

    def clean(self):
        data = super().clean()
        for row in self.rows:
            green, red = f"green_from_{row.key}", f"red_below_{row.key}"
            if green in self.errors or red in self.errors:
                continue
            if (data.get(green) is None) != (data.get(red) is None):
                missing = green if data.get(green) is None else red
                self.add_error(missing, "Give both numbers, or leave both empty to inherit.")
            elif data.get(green) is not None:
                # Every row's mistakes at once; the service checks the same again.
                problems = threshold_errors(green_from=data[green], red_below=data[red])
                for name, messages in problems.items():
                    self.add_error(f"{name}_{row.key}", messages)
        return data

    def values(self) -> dict[int | None, tuple[float, float] | None]:
        """Stage → (green_from, red_below), or None where the row is left to inherit."""
        values = {}
        for row in self.rows:
            green = self.cleaned_data.get(f"green_from_{row.key}")
            red = self.cleaned_data.get(f"red_below_{row.key}")
            values[row.stage] = None if green is None else (green, red)
        return values


def stage_rows(label_all: str) -> list[tuple[int | None, str]]:
    return [(None, label_all), *((value, label) for value, label in Stage.choices)]


class AlertResolveForm(forms.Form):
    note = forms.CharField(
        label="How was it dealt with?",
        max_length=RESOLUTION_MAX,
        widget=forms.TextInput(attrs={"placeholder": "e.g. Discussed at the council; owner named"}),
    )


STATUS_FILTERS = {
    "active": ("Open and acknowledged", ["open", "acknowledged"]),
    "open": ("Open", ["open"]),
    "acknowledged": ("Acknowledged", ["acknowledged"]),
    "resolved": ("Resolved", ["resolved"]),
    "all": ("All", None),
}


class AlertFilterForm(forms.Form):
    """The inbox's filters, from the query string; anything unknown is ignored."""

    status = forms.ChoiceField(
        choices=[(key, label) for key, (label, _) in STATUS_FILTERS.items()], required=False
    )
    alliance = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)
    metric = forms.ChoiceField(
        label="Corner or metric", choices=[("", "Any"), *Metric.choices], required=False
    )
    kind = forms.ChoiceField(
        label="Level", choices=[("", "Any"), *AlertKind.choices], required=False
    )

    def __init__(self, data, *, alliances):
        super().__init__(data)
        self.fields["alliance"].choices = [("", "Any")] + [(a.pk, str(a)) for a in alliances]

    def filters(self) -> dict:
        """The valid filters, as field → value; an invalid one counts as not given."""
        self.is_valid()
        chosen = {
            name: self.cleaned_data.get(name) for name in self.fields if name not in self.errors
        }
        chosen["status"] = chosen.get("status") or "active"
        return chosen
