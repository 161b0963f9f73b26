"""The demo world: three organisations with logins, their partners, and a portfolio of alliances.

Idempotent: organisations and users are found by their natural keys, and an alliance is built
only when its lead has no alliance of that name yet, so running the command again adds nothing
(it only resets the demo users' passwords and roles). Every alliance is built through the
services, then its timestamps are moved into the past so the history reads like a real one.

Governance (bodies, meetings, decisions, actions, escalations, risks) is a separate step: every
live alliance past formation that has no governance body yet gets it, dated over the last 12–15
months, from ``GOVERNANCE`` in ``demo_data.py``. Attendance and small date shifts come from a
hash of stable names (``chance``), so every run on every machine gives the same demo.

Pulse surveys are the last step (``demo_survey_history.py``): every running alliance without
rounds gets its last 24 monthly rounds, opened, answered and closed through the survey services
at the moments they were due, answering as ``STORIES`` in ``demo_surveys.py`` says (healthy,
declining, a perception gap, a poor response rate). One alliance's round is open today, its
emails really sent to the outbox.

To extend the demo, add rows to the tables in ``alliances/demo_data.py`` (``PEOPLE``,
``DEMO_USERS``, ``ALLIANCES``, ``GOVERNANCE``) and ``alliances/demo_surveys.py``, or a new
step to ``Command.handle``.
"""

import zlib
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
    GOVERNANCE,
    INTERNAL,
    ORGANIZATIONS,
    PARTNER,
    PEOPLE,
    RESPONSE_ACTIONS,
    ROUTINE_DECISIONS,
    AllianceSpec,
    Back,
    DemoRisk,
    GovernancePlan,
    Person,
    email_of,
)
from alliances.demo_survey_history import replay_health, seed_scorecards, seed_surveys
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
    Outcome,
    PartnerFitScore,
    PartnerInvitation,
    Role,
    Side,
    Stage,
    StageTransition,
    User,
)
from alliances.models import (
    ContactFunction as F,
)
from governance import services as gov
from governance.models import (
    DEFAULT_CADENCE,
    ActionItem,
    ActionSource,
    ActionStatus,
    Decision,
    DecisionRight,
    Escalation,
    GovernanceBody,
    GovernanceChange,
    JointApproval,
    Meeting,
    Risk,
    Rung,
    Tier,
)
from governance.services import decision_rights_seed


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
                # Firing opens an escalation at the steering rung and a review action, dated then.
                services.trigger_fire(
                    trigger=created,
                    user=self.owner,
                    organization=self.lead,
                    note=trigger.fired_note,
                    now=moment(trigger.fired_days_ago, hour=14),
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


# --- governance -------------------------------------------------------------------------------


def chance(*parts) -> int:
    """A stable number 0–99 for these parts: the demo's dice, the same on every machine."""
    return zlib.crc32("|".join(str(part) for part in parts).encode()) % 100


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour, minute)))


def fallback_plan(alliance: Alliance) -> GovernancePlan:
    """For an alliance the tables do not describe: plain words from its own thesis."""
    topic = alliance.name
    return GovernancePlan(
        topic=topic,
        decisions=(),
        actions=(f"Update the plan for the {topic}", "Review the open risks"),
        escalations=("Scope disagreement", "Resourcing conflict", "Late deliverable"),
        risks=(
            DemoRisk("Key people leave the alliance", "resourcing", 2, 4, "Name deputies."),
            DemoRisk("Priorities drift apart", "strategic_drift", 3, 3, "Quarterly review."),
            DemoRisk("We depend on one partner team", "dependency", 3, 3, "Cross-train."),
            DemoRisk(
                "Our sponsor loses interest", "strategic_drift", 2, 4, "Brief the sponsor.",
                visibility=INTERNAL,
            ),
        ),
        working_team=f"{topic} working team",
    )  # fmt: skip


class GovernanceBuilder:
    """Gives one alliance its operating rhythm, going through the governance services."""

    STEERING, COUNCIL, TEAM = "steering", "council", "team"

    def __init__(self, alliance: Alliance, today: date):
        self.alliance = alliance
        self.today = today
        self.plan = GOVERNANCE.get(alliance.name) or fallback_plan(alliance)
        contacts = list(alliance.contacts.filter(is_active=True).order_by("pk"))
        self.contacts = {side: [c for c in contacts if c.side == side] for side in Side.values}
        self.organizations = {
            Side.LEAD: alliance.lead_organization,
            Side.PARTNER: alliance.partner_organization,
        }
        self.users = {side: self._user_of(org) for side, org in self.organizations.items()}
        entered = alliance.transitions.filter(to_stage__gt=Stage.FORMATION).order_by("at").first()
        self.start = max(
            entered.at.date() + timedelta(days=7) if entered else today,
            today - timedelta(days=380 + chance(alliance.name, "span") % 60),
        )
        closed = alliance.transitions.filter(outcome=Outcome.EXITED).order_by("at").first()
        self.closed = alliance.is_closed
        self.end = closed.at.date() - timedelta(days=3) if closed else today - timedelta(days=1)

    @staticmethod
    def _user_of(organization) -> User | None:
        if organization is None:
            return None
        return (
            User.objects.filter(
                memberships__organization=organization,
                memberships__role__in=[Role.ADMIN, Role.MANAGER],
            )
            .order_by("email")
            .first()
        )

    def person(self, side: str, *functions: str) -> Contact | None:
        people = self.contacts[side]
        for function in functions:
            for contact in people:
                if contact.function == function:
                    return contact
        return people[0] if people else None

    def build(self) -> None:
        self.rights = self.add_decision_rights()
        self.bodies = self.add_bodies()
        self.meetings = {kind: self.hold_meetings(kind, body) for kind, body in self.bodies.items()}
        self.add_decisions()
        self.add_actions()
        self.add_escalations()
        self.add_risks()

    # bodies and meetings

    def add_decision_rights(self) -> list[DecisionRight]:
        decision_rights_seed(alliance=self.alliance)
        extra = DecisionRight(
            alliance=self.alliance,
            decision_type="Joint spend above the agreed budget",
            owner="Alliance managers",
            joint_approval=JointApproval.YES,
            forum="Executive steering committee",
            sla_days=15,
            escalation_rung=Rung.EXECUTIVE_SPONSORS,
            position=10,
        )
        if not self.alliance.decision_rights.filter(decision_type=extra.decision_type).exists():
            gov.decision_right_save(
                right=extra,
                user=self.users[Side.LEAD],
                organization=self.alliance.lead_organization,
            )
        rights = list(self.alliance.decision_rights.order_by("position", "pk"))
        GovernanceChange.objects.filter(alliance=self.alliance, subject="decision right").update(
            at=at(self.start, 11)
        )
        return rights

    def add_bodies(self) -> dict[str, GovernanceBody]:
        sponsors = [c for c in self.all_contacts if c.function == F.EXECUTIVE_SPONSOR]
        managers = [c for c in self.all_contacts if c.function == F.ALLIANCE_MANAGER]
        others = [c for c in self.all_contacts if c.function != F.EXECUTIVE_SPONSOR]
        lead_sponsor = self.person(Side.LEAD, F.EXECUTIVE_SPONSOR, F.ALLIANCE_MANAGER)
        lead_manager = self.person(Side.LEAD, F.ALLIANCE_MANAGER, F.EXECUTIVE_SPONSOR)
        partner_manager = self.person(Side.PARTNER, F.ALLIANCE_MANAGER) or lead_manager
        specs = [
            (self.STEERING, "Executive steering committee", Tier.EXECUTIVE_STEERING,
             sponsors + managers, lead_sponsor,
             "Owns the alliance's direction, budget and the escalations that reach it."),
            (self.COUNCIL, "Operational council", Tier.OPERATIONAL_COUNCIL, others, lead_manager,
             f"Runs the {self.plan.topic} month by month: plan, actions, risks."),
        ]  # fmt: skip
        if self.alliance.stage == Stage.EXECUTION:
            team = [c for c in others if c.function != F.LEGAL_FINANCE] or others
            specs.append(
                (self.TEAM, self.plan.working_team or "Working team", Tier.WORKING_TEAM, team,
                 partner_manager, f"The weekly working session on the {self.plan.topic}.")
            )  # fmt: skip
        bodies = {}
        for kind, name, tier, members, chair, purpose in specs:
            body = gov.body_save(
                body=GovernanceBody(
                    alliance=self.alliance,
                    name=name,
                    tier=tier,
                    cadence=DEFAULT_CADENCE[tier],
                    purpose=purpose,
                    created_at=at(self.start - timedelta(days=3), 9),
                ),
                members=members,
                chair=chair,
            )
            bodies[kind] = body
        return bodies

    @property
    def all_contacts(self) -> list[Contact]:
        return self.contacts[Side.LEAD] + self.contacts[Side.PARTNER]

    def meeting_days(self, kind: str, body: GovernanceBody) -> list[date]:
        step = body.cadence_days
        start = self.start
        if kind == self.TEAM:
            start = max(start, self.end - timedelta(days=91))  # the team's last three months
        last = self.end - timedelta(days=chance(self.alliance.name, kind, "last") % min(step, 12))
        days = []
        n = 0
        while True:
            day = last - timedelta(days=n * step)
            if kind != self.TEAM:  # people move meetings by a few days
                day += timedelta(days=chance(self.alliance.name, kind, n) % 5 - 2)
            if day < start:
                break
            days.append(min(day, self.end))
            n += 1
        if kind == self.COUNCIL and self.plan.skip_last_council:
            # The latest council did not happen: the body now shows as having missed one.
            days = [day for day in days if day < self.today - timedelta(days=45)]
        return sorted(days)

    def hold_meetings(self, kind: str, body: GovernanceBody) -> list[Meeting]:
        topic = self.plan.topic
        agenda, starts, minutes = {
            self.STEERING: (
                f"1. Health of the alliance and the {topic}\n2. Escalations that reached us\n"
                "3. Risk register: the top five\n4. Decisions needed",
                time(10), 90,
            ),
            self.COUNCIL: (
                f"1. Open actions\n2. {topic[:1].upper()}{topic[1:]}: status against plan\n"
                "3. Risks and escalations\n4. Any other business",
                time(14), 60,
            ),
            self.TEAM: (
                f"Weekly check-in on the {topic}: blockers and next steps", time(9, 30), 30,
            ),
        }[kind]  # fmt: skip
        members = list(body.members.all())
        rates = {Side.LEAD: self.plan.lead_attendance, Side.PARTNER: self.plan.partner_attendance}
        meetings = []
        for day in self.meeting_days(kind, body):
            came = [
                c
                for c in members
                if c == body.chair or chance(self.alliance.name, kind, day, c.email) < rates[c.side]
            ]
            meeting = gov.meeting_record(
                meeting=Meeting(
                    body=body,
                    held_on=day,
                    starts_at=starts,
                    duration_minutes=minutes,
                    agenda=agenda,
                    notes=f"{len(came)} of {len(members)} members attended.",
                    created_by=self.users[Side.LEAD],
                    created_at=at(day, 17),
                ),
                attendees=came,
            )
            meetings.append(meeting)
        return meetings

    # decisions, actions, escalations and risks

    def add_decisions(self) -> None:
        own = list(self.plan.decisions)
        routine = [(d.format(topic=self.plan.topic), r) for d, r in ROUTINE_DECISIONS]
        forums = [(m, self.bodies[self.STEERING].name) for m in self.meetings[self.STEERING]]
        forums += [
            (m, self.bodies[self.COUNCIL].name) for m in self.meetings[self.COUNCIL][1::3]
        ]  # a council decides something about once a quarter
        forums.sort(key=lambda pair: pair[0].held_on)
        # The alliance's own decisions spread over its history; routine ones in between.
        own_at = {(2 * k + 1) * len(forums) // (2 * len(own)): item for k, item in enumerate(own)}
        offset = chance(self.alliance.name, "routine")
        for i, (meeting, forum) in enumerate(forums):
            text, rationale = own_at.get(i) or routine[(i + offset) % len(routine)]
            gov.decision_record(
                decision=Decision(
                    alliance=self.alliance,
                    decision=text,
                    forum=forum,
                    decided_on=meeting.held_on,
                    rationale=rationale,
                    meeting=meeting,
                    decision_right=self.rights[i % len(self.rights)] if i % 3 == 0 else None,
                ),
                user=self.users[Side.LEAD],
            )

    def _action(
        self, *, side: str, title: str, due: date, status: str, **fields
    ) -> ActionItem | None:
        organization = self.organizations[side]
        owner = self.person(side, F.ALLIANCE_MANAGER, F.EXECUTIVE_SPONSOR)
        if organization is None or owner is None:
            return None
        created = fields.pop("created", due - timedelta(days=21))
        action = ActionItem(
            alliance=self.alliance,
            author_organization=organization,
            title=title,
            owner=owner,
            due_on=due,
            status=status,
            created_at=at(created, 17),
            completed_at=at(min(due, self.today), 12) if status == ActionStatus.DONE else None,
            **fields,
        )
        return gov.action_save(
            action=action, user=self.users[side], allow_past_due=True, today=created
        )

    def add_actions(self) -> None:
        titles = self.plan.actions
        council = self.meetings[self.COUNCIL]
        overdue_left = 1 if self.closed else 2
        for n, meeting in enumerate(reversed(council)):  # newest first
            if n >= 6:
                break
            due = meeting.held_on + timedelta(days=21)
            side = Side.LEAD if n % 2 == 0 else Side.PARTNER
            if self.closed:
                status = ActionStatus.DONE
            elif due >= self.today:
                status = ActionStatus.IN_PROGRESS if n % 3 == 1 else ActionStatus.OPEN
            elif overdue_left:
                status, overdue_left = ActionStatus.OPEN, overdue_left - 1  # overdue
            else:
                status = ActionStatus.DONE if n % 4 else ActionStatus.DROPPED
            self._action(
                side=side,
                title=titles[n % len(titles)],
                due=due,
                status=status,
                source=ActionSource.MEETING,
                meeting=meeting,
                created=meeting.held_on,
            )
        # Done in answer to an alert or a health review: "you said, we did". The second is
        # recent, so the current survey round shows it to respondents.
        first = chance(self.alliance.name, "responses") % len(RESPONSE_ACTIONS)
        for k in range(2):
            source, title, details = RESPONSE_ACTIONS[(first + k) % len(RESPONSE_ACTIONS)]
            due = self.end - timedelta(days=75 - k * 65)
            if due < self.start:
                continue
            self._action(
                side=Side.LEAD if k == 0 else Side.PARTNER,
                title=title,
                details=details,
                due=due,
                status=ActionStatus.DONE,
                source=source,
            )
        if not self.closed:
            for side in Side.values:
                self._action(
                    side=side,
                    title="Prepare our position for the next steering committee",
                    details="For our side only: what we want, and what we can give.",
                    due=self.today + timedelta(days=10 + (side == Side.PARTNER) * 4),
                    status=ActionStatus.OPEN,
                    visibility=INTERNAL,
                    created=self.today - timedelta(days=4),
                )

    def add_escalations(self) -> None:
        titles = list(self.plan.escalations)
        mode = "" if self.closed else self.plan.open_escalation
        resolved = titles if not mode else titles[:-1]
        span = (self.end - self.start).days
        for n, title in enumerate(resolved):
            raised = at(self.start + timedelta(days=span * (n + 1) // (len(resolved) + 2)), 11)
            side = Side.LEAD if n % 2 == 0 else Side.PARTNER
            right = self.rights[n % len(self.rights)]
            escalation = self._raise(title, side, right, raised, Rung(1 + n % 2))
            took = timedelta(days=2 + chance(self.alliance.name, title) % (right.sla_days + 6))
            gov.escalation_resolve(
                escalation=escalation,
                resolution=f"Agreed at the {self.bodies[self.COUNCIL].name.lower()}; "
                "both alliance managers confirmed in writing.",
                user=self.users[side],
                organization=self.organizations[side] or self.alliance.lead_organization,
                now=raised + took,
            )
            self._date_history(escalation, raised, raised + took)
        if mode:
            right = self.rights[0]
            days_ago = right.sla_days + 5 if mode == "overdue" else 2
            raised = at(self.today - timedelta(days=days_ago), 10)
            escalation = self._raise(titles[-1], Side.PARTNER, right, raised, Rung.WORKING_LEADS)
            self._date_history(escalation, raised)

    def _raise(self, title, side, right, raised, rung) -> Escalation:
        organization = self.organizations[side] or self.alliance.lead_organization
        return gov.escalation_raise(
            escalation=Escalation(
                alliance=self.alliance,
                title=title,
                description=f"Raised at the {self.bodies[self.COUNCIL].name.lower()} "
                f"about the {self.plan.topic}.",
                decision_right=right,
                rung=rung,
            ),
            user=self.users[side],
            organization=organization,
            now=raised,
        )

    def _date_history(self, escalation: Escalation, *moments: datetime) -> None:
        changes = GovernanceChange.objects.filter(
            alliance=self.alliance, subject="escalation", object_id=escalation.pk
        ).order_by("pk")
        for change, moment_ in zip(changes, moments, strict=False):
            GovernanceChange.objects.filter(pk=change.pk).update(at=moment_)

    def add_risks(self) -> None:
        for n, spec in enumerate(self.plan.risks):
            side = Side.PARTNER if spec.side == PARTNER else Side.LEAD
            organization = self.organizations[side]
            if organization is None:
                continue
            owner = self.person(side, F.ALLIANCE_MANAGER, F.EXECUTIVE_SPONSOR)
            created = at(self.start + timedelta(days=10 + 23 * n), 15)
            risk = gov.risk_save(
                risk=Risk(
                    alliance=self.alliance,
                    author_organization=organization,
                    visibility=spec.visibility,
                    title=spec.title,
                    category=spec.category,
                    likelihood=spec.likelihood,
                    impact=spec.impact,
                    owner=owner,
                    mitigation=spec.mitigation,
                    status=spec.status,
                    created_at=created,
                ),
                user=self.users[side],
                organization=organization,
            )
            GovernanceChange.objects.filter(
                alliance=self.alliance, subject="risk", object_id=risk.pk
            ).update(at=created)


def seed_governance() -> int:
    """Give every live alliance past formation its governance, unless it has some already."""
    today = timezone.localdate()
    alliances = Alliance.objects.filter(
        archived_at__isnull=True, stage__gt=Stage.FORMATION, governance_bodies__isnull=True
    ).select_related("lead_organization", "partner_organization")
    done = 0
    for alliance in alliances.order_by("pk"):
        GovernanceBuilder(alliance, today).build()
        done += 1
    return done


class Command(BaseCommand):
    help = "Load the demo organisations, users and alliances (idempotent)."

    def handle(self, *args, **options):
        with transaction.atomic():
            organizations = seed_organizations()
            users = seed_users(organizations)
            alliances = seed_alliances(organizations, users)
            governed = seed_governance()
            surveyed, open_rounds = seed_surveys()
            scorecards = seed_scorecards(now=timezone.now())
            alerts = replay_health(now=timezone.now()) if surveyed else 0
        if alliances:
            self.stdout.write(f"Added {len(alliances)} demo alliances.")
        else:
            self.stdout.write("The demo alliances were already there; nothing added.")
        if governed:
            self.stdout.write(f"Added governance to {governed} alliance(s).")
        if surveyed:
            self.stdout.write(
                f"Added pulse-survey history to {surveyed} alliance(s); {open_rounds} round(s) "
                "open now, their links in the outbox."
            )
            self.stdout.write(f"Replayed the health checks of that history: {alerts} alert(s).")
        if scorecards:
            self.stdout.write(f"Added a balanced scorecard to {scorecards} alliance(s).")
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
        self.stdout.write(
            f"Sent email (survey links of the open round, the pending partner invitation): "
            f"{DEMO_OUTBOX_URL}"
        )
