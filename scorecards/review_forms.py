"""Forms for health reviews. Views pass instances that already have their review (and
alliance and author), so model validation runs; people come from the alliance in the URL."""

from django import forms
from django.utils import timezone

from alliances.forms import DateInput
from alliances.models import Contact, Visibility

from .lights import Color
from .models import RATINGS, HealthReview, ReviewInterview, ReviewSynthesis


class ReviewForm(forms.ModelForm):
    class Meta:
        model = HealthReview
        fields = ["title", "kind", "scope", "started_on"]
        widgets = {"scope": forms.Textarea(attrs={"rows": 4}), "started_on": DateInput}


class InterviewForm(forms.ModelForm):
    class Meta:
        model = ReviewInterview
        fields = ["function", "side", "held_on", "themes", "notes", "visibility"]
        widgets = {
            "held_on": DateInput,
            "notes": forms.Textarea(attrs={"rows": 6}),
            "visibility": forms.RadioSelect(choices=Visibility.choices),
        }

    def __init__(self, *args, here, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["side"].choices = [
            (value, here.alliance.party_name(value))
            for value, _ in self.fields["side"].choices
            if value
        ]
        if self.instance.pk is None:
            self.fields["side"].initial = here.side


class RatingSelect(forms.RadioSelect):
    """Each rating says its colour with a symbol and a word, never with colour alone."""

    def create_option(self, name, value, label, *args, **kwargs):
        if value:
            label = f"{Color(value).symbol} {label}"
        return super().create_option(name, value, label, *args, **kwargs)


class SynthesisForm(forms.ModelForm):
    """One corner of the synthesis; the page shows one per corner, prefixed by the corner."""

    rating = forms.ChoiceField(
        choices=[("", "Not rated yet"), *RATINGS], required=False, widget=RatingSelect
    )

    class Meta:
        model = ReviewSynthesis
        fields = ["strengths", "concerns", "rating"]
        widgets = {
            "strengths": forms.Textarea(attrs={"rows": 3}),
            "concerns": forms.Textarea(attrs={"rows": 3}),
        }

    @property
    def is_blank(self) -> bool:
        """Nothing written and nothing rated for a corner not read before: nothing to save."""
        data = self.cleaned_data
        return self.instance.pk is None and not any(
            data.get(name) for name in ("strengths", "concerns", "rating")
        )


class RecommendationForm(forms.Form):
    title = forms.CharField(label="Recommended action", max_length=200)
    details = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    owner = forms.ModelChoiceField(queryset=Contact.objects.none())
    due_on = forms.DateField(label="Due date", widget=DateInput)

    def __init__(self, *args, here, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["owner"]
        # The recommending side owns the action it asks for.
        field.queryset = here.scope.rows(
            Contact.objects.filter(alliance=here.alliance, side=here.side, is_active=True)
        )
        field.error_messages["invalid_choice"] = "Choose a contact of your side of this alliance."

    def clean_due_on(self):
        due_on = self.cleaned_data["due_on"]
        if due_on < timezone.localdate():
            raise forms.ValidationError("A recommended action is due today or later.")
        return due_on
