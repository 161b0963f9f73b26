"""Forms of the survey pages: the answer form, built from a round's frozen questions."""

from django import forms

from .defaults import TRUST_COMMENT_PROMPT
from .models import COMMENT_MAX_LENGTH, RoundQuestion

NOT_APPLICABLE = "na"
LIKERT_CHOICES = [
    ("1", "Strongly disagree"),
    ("2", "Disagree"),
    ("3", "Neither agree nor disagree"),
    ("4", "Agree"),
    ("5", "Strongly agree"),
    (NOT_APPLICABLE, "Not applicable"),
]
TRUST_CHOICES = [(str(v), str(v)) for v in range(11)]


def question_field_name(question: RoundQuestion) -> str:
    return f"q{question.pk}"


class AnswerForm(forms.Form):
    """One radio group per question (a fieldset with the statement as its legend) and the
    optional comment. Values arrive as strings; ``answers()`` turns them into the service's
    {question id: value or None}."""

    def __init__(self, *args, questions: list[RoundQuestion], **kwargs):
        super().__init__(*args, **kwargs)
        self.questions = questions
        for question in questions:
            self.fields[question_field_name(question)] = forms.ChoiceField(
                label=question.text,
                choices=TRUST_CHOICES if question.is_trust else LIKERT_CHOICES,
                widget=forms.RadioSelect,
                error_messages={
                    "required": "Please pick a number from 0 to 10."
                    if question.is_trust
                    else "Please pick an answer (or “Not applicable”).",
                    "invalid_choice": "Please pick one of the options shown.",
                },
            )
        self.fields["comment"] = forms.CharField(
            label=TRUST_COMMENT_PROMPT,
            required=False,
            max_length=COMMENT_MAX_LENGTH,
            strip=True,
            widget=forms.Textarea(attrs={"rows": 4, "maxlength": COMMENT_MAX_LENGTH}),
            error_messages={
                "max_length": "Please keep the comment to %(limit_value)s characters "
                "(it has %(show_value)s)."
            },
        )

    def question_fields(self):
        """(question, bound field) pairs in the order the round asks them."""
        return [(q, self[question_field_name(q)]) for q in self.questions]

    def answers(self) -> dict[int, int | None]:
        return {
            question.pk: None
            if self.cleaned_data[question_field_name(question)] == NOT_APPLICABLE
            else int(self.cleaned_data[question_field_name(question)])
            for question in self.questions
        }
