"""The demo world: three organisations with logins, their partners, and a portfolio of alliances.

Idempotent: organisations and users are found by their natural keys, and an alliance is built
only when its lead has no alliance of that name yet, so running the command again adds nothing
(it only resets the demo users' passwords and roles). Every alliance is built through the
services, then its timestamps are moved into the past so the history reads like a real one.

To extend the demo, add rows to the tables in ``alliances/demo_data.py`` (``PEOPLE``,
``DEMO_USERS``, ``ALLIANCES``) or a new step to ``Command.handle``.
"""

from datetime import date, datetime, time, timedelta

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from alliances import services
from alliances.demo_data import (
    ALLIANCES,
    DEMO_OUTBOX_URL,
    DEMO_PASSWORD,
    DEMO_URL,
    DEMO_USERS,
    ORGANIZATIONS,
    PEOPLE,
    AllianceSpec,
    Back,
    Person,
    email_of,
)
from alliances.models import (
    AdaptationTrigger,
    Alliance,
    AllianceGateCheck,
    Contact,
    FitCriterion,
    JournalEntry,
    LessonsLearned,
    Membership,
    Organization,
    PartnerFitScore,
    PartnerInvitation,
    Role,
    Side,
    StageTransition,
    User,
)


def moment(days_ago: int, hour: int = 10) -> datetime:
    """A time of day ``days_ago`` days before today, in the current time zone."""
    return timezone.make_aware(datetime.combine(date_in(-days_ago), time(hour)))


def date_in(days: int | None) -> date | None:
    """The date ``days`` days from today (negative: in the past)."""
    if days is None:
        return None
    return timezone.localdate() + timedelta(days=days)


def between(start: datetime, end: datetime, i: int, n: int) -> datetime:
    """The ``i``-th of ``n`` moments spread evenly between ``start`` and ``end``."""
    return start + (end - start) * (i + 1) / (n + 1)


def seed_organizations() -> dict[str, Organization]:
    organizations = {}
    for slug, name in ORGANIZATIONS.items():
        organization = Organization.objects.filter(slug=slug).first()
        if organization is None:
            organization = services.organization_create(name=name, slug=slug)
        organizations[slug] = organization
    return organizations


def seed_users(organizations: dict[str, Organization]) -> dict[str, User]:
    users = {}
    for demo in DEMO_USERS:
        person = PEOPLE[demo.organization][demo.key]
        user = User.objects.filter(email=email_of(demo.organization, demo.key)).first()
        if user is None:
            user = User(email=email_of(demo.organization, demo.key))
        user.full_name = person.name
        # Staff may open the dev outbox; without permissions they see nothing in the admin.
        user.is_staff = True
        user.is_active = True
        user.set_password(DEMO_PASSWORD)
        user.save()
        Membership.objects.update_or_create(
            organization=organizations[demo.organization],
            user=user,
            defaults={"role": demo.role},
        )
        users[demo.key] = user
    return users


class AllianceBuilder:
    """Builds one alliance from its spec through the services, then backdates its history."""

    def __init__(self, spec: AllianceSpec, organizations: dict, users: dict):
        self.spec = spec
        self.users = users
        self.lead = organizations[spec.lead]
        self.partner = organizations[spec.partner] if spec.partner else None
        self.owner = users[spec.owner]
        self.created = moment(spec.created_days_ago, hour=9)

    def build(self) -> Alliance:
        spec = self.spec
        self.alliance = services.alliance_create(
            organization=self.lead,
            user=self.owner,
            name=spec.name,
            partner_organization=self.partner,
            partner_name=spec.partner_name or self.partner.name,
            model=spec.model,
            strategic_importance=spec.importance,
            start_date=date_in(spec.start_in_days),
            renewal_date=date_in(spec.renewal_in_days),
            **spec.thesis,
        )
        Alliance.objects.filter(pk=self.alliance.pk).update(created_at=self.created)
        self.alliance.transitions.update(at=self.created)
        self.add_contacts()
        self.add_triggers()
        self.score_fit()
        if spec.invite:
            self.invite_partner()
        self.walk_history()
        self.add_notes()
        if spec.archived_days_ago is not None:
            services.alliance_set_archived(alliance=self.alliance, archived=True)
            Alliance.objects.filter(pk=self.alliance.pk).update(
                archived_at=moment(spec.archived_days_ago, hour=16)
            )
        return self.alliance

    def _people(self, side: str) -> tuple[str, dict[str, Person], tuple[str, ...]]:
        if side == Side.LEAD:
            return self.spec.lead, PEOPLE[self.spec.lead], self.spec.lead_contacts
        org = self.spec.partner or self.spec.partner_people
        return org, PEOPLE[org], self.spec.partner_contacts

    def add_contacts(self) -> None:
        for side in (Side.LEAD, Side.PARTNER):
            org, people, keys = self._people(side)
            for key in keys:
                person = people[key]
                services.contact_save(
                    contact=Contact(
                        alliance=self.alliance,
                        side=side,
                        name=person.name,
                        email=email_of(org, key),
                        function=person.function,
                        title=person.title,
                    )
                )
        self.alliance.contacts.update(created_at=self.created + timedelta(days=1))

    def add_triggers(self) -> None:
        for trigger in self.spec.triggers:
            created = AdaptationTrigger.objects.create(
                alliance=self.alliance,
                condition=trigger.condition,
                response=trigger.response,
                created_at=self.created + timedelta(days=2),
            )
            if trigger.fired_days_ago is not None:
                services.trigger_fire(trigger=created, user=self.owner, note=trigger.fired_note)
                AdaptationTrigger.objects.filter(pk=created.pk).update(
                    fired_at=moment(trigger.fired_days_ago, hour=14)
                )

    def score_fit(self) -> None:
        scores = {
            criterion: (int(score), self.spec.red_flags.get(criterion, ""))
            for criterion, score in zip(FitCriterion.values, self.spec.fit, strict=True)
        }
        services.partner_fit_save(alliance=self.alliance, organization=self.lead, scores=scores)
        PartnerFitScore.objects.filter(alliance=self.alliance).update(
            updated_at=self.created + timedelta(days=5)
        )

    def invite_partner(self) -> None:
        org = self.spec.partner_people
        invitation = services.partner_invite(
            alliance=self.alliance, email=email_of(org, self.spec.invite), invited_by=self.owner
        )
        sent = self.created + timedelta(days=7)
        PartnerInvitation.objects.filter(pk=invitation.pk).update(
            created_at=sent, expires_at=sent + (invitation.expires_at - invitation.created_at)
        )

    def tick(self, stage: int, start: datetime, end: datetime, keep_open=(), first=None) -> None:
        """Tick the gate items of ``stage`` (all but ``keep_open``, or the ``first`` few that
        are not done yet), their times spread between ``start`` and ``end``."""
        checks = list(self.alliance.gate_checks.filter(stage=stage))
        wanted = [
            check
            for position, check in enumerate(checks)
            if position not in keep_open and (first is None or position < first)
        ]
        for i, check in enumerate(wanted):
            if first is not None and check.is_done:
                continue
            services.gate_check_set(check=check, done=True, user=self.owner)
            AllianceGateCheck.objects.filter(pk=check.pk).update(
                done_at=between(start, end, i, len(wanted))
            )

    def walk_history(self) -> None:
        entered = self.created
        for step in self.spec.history:
            when = moment(step.days_ago, hour=15)
            if when <= entered:
                raise CommandError(f"{self.spec.name}: the history must run forwards in time.")
            if isinstance(step, Back):
                transition = services.stage_back(
                    alliance=self.alliance,
                    user=self.owner,
                    organization=self.lead,
                    to_stage=step.to_stage,
                    reason=step.reason,
                )
            else:
                self.alliance.refresh_from_db(fields=["stage"])
                self.tick(self.alliance.stage, entered, when, keep_open=step.unmet)
                lessons = LessonsLearned(**step.lessons) if step.lessons else None
                transition = services.stage_advance(
                    alliance=self.alliance,
                    user=self.owner,
                    organization=self.lead,
                    note=step.note,
                    override_reason=step.override,
                    outcome=step.outcome,
                    lessons=lessons,
                )
                if lessons is not None:
                    LessonsLearned.objects.filter(pk=lessons.pk).update(recorded_at=when)
            StageTransition.objects.filter(pk=transition.pk).update(at=when)
            entered = when
        self.alliance.refresh_from_db()
        if self.spec.ticked:
            # Work on an archived alliance stopped when it was archived.
            until = self.spec.archived_days_ago or 1
            self.tick(self.alliance.stage, entered, moment(until, hour=9), first=self.spec.ticked)

    def add_notes(self) -> None:
        for i, note in enumerate(self.spec.notes):
            author = self.users[note.author]
            organization = author.memberships.get(
                organization__in=[self.lead, self.partner] if self.partner else [self.lead]
            ).organization
            entry = services.journal_add(
                alliance=self.alliance,
                user=author,
                organization=organization,
                body=note.body,
                visibility=note.visibility,
            )
            JournalEntry.objects.filter(pk=entry.pk).update(
                created_at=moment(note.days_ago, hour=9 + i % 8)
            )


def seed_alliances(organizations: dict, users: dict) -> list[Alliance]:
    """Build every alliance whose lead has none of that name yet; return the new ones."""
    created = []
    for spec in ALLIANCES:
        lead = organizations[spec.lead]
        if Alliance.objects.filter(lead_organization=lead, name__iexact=spec.name).exists():
            continue
        created.append(AllianceBuilder(spec, organizations, users).build())
    return created


class Command(BaseCommand):
    help = "Load the demo organisations, users and alliances (idempotent)."

    def handle(self, *args, **options):
        with transaction.atomic():
            organizations = seed_organizations()
            users = seed_users(organizations)
            alliances = seed_alliances(organizations, users)
        if alliances:
            self.stdout.write(f"Added {len(alliances)} demo alliances.")
        else:
            self.stdout.write("The demo alliances were already there; nothing added.")
        self.print_logins()

    def print_logins(self) -> None:
        rows = [("Email", "Organisation", "Role", "What you see")]
        rows += [
            (
                email_of(demo.organization, demo.key),
                ORGANIZATIONS[demo.organization],
                Role(demo.role).label,
                demo.what,
            )
            for demo in DEMO_USERS
        ]
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS(f"Concord demo: log in at {DEMO_URL}"))
        for n, row in enumerate(rows):
            cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
            line = "  ".join(cells).rstrip()
            self.stdout.write(self.style.MIGRATE_HEADING(line) if n == 0 else line)
        self.stdout.write(f"Password for every demo login: {DEMO_PASSWORD}")
        self.stdout.write(f"Sent email (e.g. the pending partner invitation): {DEMO_OUTBOX_URL}")
