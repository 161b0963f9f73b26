"""Forms for KPI definitions, a month's value and the CSV import. The model and the services
check the rules (thresholds against the direction, values against the unit); the forms only
collect what was typed."""

from django import forms
from django.core.exceptions import ValidationError

from alliances.forms import MAX_CSV_BYTES

from .models import Kpi, KpiValue


class KpiForm(forms.ModelForm):
    class Meta:
        model = Kpi
        fields = [
            "name",
            "group",
            "description",
            "source",
            "unit",
            "currency",
            "direction",
            "green_from",
            "red_below",
        ]
        labels = {"red_below": "Red beyond"}
        help_texts = {
            "unit": "Computed KPIs take the unit of what Concord measures.",
            "currency": "Money only: the three-letter code, e.g. EUR or USD.",
        }
        widgets = {
            "currency": forms.TextInput(attrs={"size": 4, "maxlength": 3}),
            "green_from": forms.NumberInput(attrs={"step": "any"}),
            "red_below": forms.NumberInput(attrs={"step": "any"}),
        }


class KpiValueForm(forms.Form):
    month = forms.CharField(
        label="Month",
        max_length=7,
        widget=forms.TextInput(attrs={"type": "month", "placeholder": "YYYY-MM"}),
        help_text="Entering a month that has a value replaces it.",
    )
    value = forms.CharField(label="Value", max_length=40)
    note = forms.CharField(
        label="Note",
        required=False,
        max_length=KpiValue._meta.get_field("note").max_length,
        help_text="Optional: what lies behind the number.",
    )


class KpiImportForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text="First line: kpi,month,value (note is optional). Month as YYYY-MM.",
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_CSV_BYTES:
            raise ValidationError("The file is larger than 1 MB. Split it and import each part.")
        return upload
