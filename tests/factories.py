"""Factories for the whole suite, in one place."""

import factory
from django.utils import timezone

from alliances import services
from alliances.models import (
    Alliance,
    Contact,
    ContactFunction,
    JournalEntry,
    Membership,
    Organization,
    Role,
    Side,
    User,
    Visibility,
)

PASSWORD = "concord-test-pw-1"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    full_name = factory.Faker("name")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class OrganizationFactory(factory.django.DjangoModelFactory):
    """Organisations are made through the service, so they get their default gate items."""

    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Org {n}")

    @classmethod
    def _create(cls, model_class, name, **kwargs):
        return services.organization_create(name=name, slug=kwargs.get("slug", ""))


def member(user: User, organization: Organization, role: str = Role.MANAGER) -> Membership:
    return Membership.objects.create(user=user, organization=organization, role=role)


class AllianceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Alliance

    lead_organization = factory.SubFactory(OrganizationFactory)
    partner_organization = None
    partner_name = factory.LazyAttribute(
        lambda o: o.partner_organization.name if o.partner_organization else "Pending Partner"
    )
    name = factory.Sequence(lambda n: f"Alliance {n}")
    purpose = "Win together in a market neither side wins alone."
    created_at = factory.LazyFunction(timezone.now)


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    alliance = factory.SubFactory(AllianceFactory)
    side = Side.LEAD
    name = factory.Faker("name")
    email = factory.Sequence(lambda n: f"contact{n}@example.com")
    function = ContactFunction.SALES


class JournalEntryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = JournalEntry

    alliance = factory.SubFactory(AllianceFactory)
    author_organization = factory.LazyAttribute(lambda o: o.alliance.lead_organization)
    visibility = Visibility.SHARED
    body = factory.Sequence(lambda n: f"Journal note {n}")


# --- pulse surveys ----------------------------------------------------------------------------


def survey_round_open(alliance, *, now=None):
    """Open the alliance's scheduled round of ``now``'s period (default: now), as the job
    would, whatever its opening day; return it."""
    from surveys import services as surveys

    now = now or timezone.now()
    schedule = surveys.alliance_schedule(alliance)
    start, end = surveys.period_of(timezone.localdate(now), schedule.cadence)
    plan = surveys.RoundPlan(
        alliance=alliance,
        kind="scheduled",
        period_start=start,
        period_end=end,
        opens_at=now,
        closes_at=now + timezone.timedelta(days=schedule.window_days),
        reminder_days=schedule.reminder_days,
    )
    (survey_round,) = surveys.rounds_open([plan], now=now)
    return survey_round


def survey_answer_all(survey_round, *, likert=4, trust=8, comment="", now=None):
    """Every invitation of the round answers with the same values; returns the count."""
    from surveys import services as surveys

    now = now or timezone.now()
    questions = list(survey_round.questions.all())
    answered = 0
    for invitation in survey_round.invitations.select_related("round"):
        surveys.response_submit(
            invitation=invitation,
            answers={q.pk: trust if q.is_trust else likert for q in questions},
            comment=comment,
            now=now,
        )
        answered += 1
    return answered
