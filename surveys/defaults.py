"""Concord's default question bank: each organisation starts with a copy and edits its own.

Ten statements per corner. Stages: 1 formation, 2 governance, 3 execution, 4 evaluation,
5 renewal or exit. Every corner has at least two statements marked for every stage, so a
round can always prefer items that matter at the alliance's stage.
"""

from dataclasses import dataclass

from .models import Corner

TRUST_ANCHOR = (
    "On a scale from 0 to 10, how far do you trust the other organisation to act in the "
    "interest of this alliance, even when no one is checking?"
)
TRUST_COMMENT_PROMPT = "Anything you want to add? (optional)"

ALL_STAGES = (1, 2, 3, 4, 5)


@dataclass(frozen=True)
class DefaultQuestion:
    key: str
    corner: str
    text: str
    stages: tuple[int, ...]


SA, OI, RT, VR = Corner.STRATEGIC, Corner.OPERATIONAL, Corner.RELATIONAL, Corner.VALUE

DEFAULT_QUESTIONS: list[DefaultQuestion] = [
    # Strategic alignment: do both sides still want the same thing, and show it?
    DefaultQuestion("sa-shared-goal", SA, "I could explain in one sentence what this alliance is for, and the other side would say the same.", (1, 2, 3)),  # noqa: E501
    DefaultQuestion("sa-priority", SA, "This alliance is a real priority for leadership on both sides, not a side project.", ALL_STAGES),  # noqa: E501
    DefaultQuestion("sa-resources", SA, "Both organisations put the people and budget behind the alliance that they promised.", (2, 3, 4)),  # noqa: E501
    DefaultQuestion("sa-sponsor-attention", SA, "Our executive sponsors pay attention to the alliance and step in when needed.", (2, 3, 5)),  # noqa: E501
    DefaultQuestion("sa-direction-stable", SA, "Changes in either company's strategy have not pulled the alliance off course.", (3, 4, 5)),  # noqa: E501
    DefaultQuestion("sa-win-win", SA, "Each side understands what the other needs to get out of this alliance.", (1, 2, 4)),  # noqa: E501
    DefaultQuestion("sa-scope-clear", SA, "What is in and out of scope is clear enough that we rarely argue about it.", (1, 2, 3)),  # noqa: E501
    DefaultQuestion("sa-future", SA, "If we were deciding today, both sides would choose to start this alliance again.", (4, 5)),  # noqa: E501
    DefaultQuestion("sa-roadmap", SA, "Our plans for the next year fit together with the partner's plans.", (1, 4, 5)),  # noqa: E501
    DefaultQuestion("sa-competition", SA, "Where we also compete, the rules of engagement are clear and respected.", (2, 3, 4, 5)),  # noqa: E501
    # Operational integration: do roles, decisions, handoffs and information flow work?
    DefaultQuestion("oi-roles", OI, "I know who on the other side to go to for what.", (1, 2, 3)),  # noqa: E501
    DefaultQuestion("oi-decisions-speed", OI, "Joint decisions get made quickly enough for the work to keep moving.", (2, 3, 4)),  # noqa: E501
    DefaultQuestion("oi-handoffs", OI, "Work passed between the two organisations rarely gets stuck or lost.", (3, 4)),  # noqa: E501
    DefaultQuestion("oi-information", OI, "I get the information I need from the partner without having to chase it.", ALL_STAGES),  # noqa: E501
    DefaultQuestion("oi-meetings", OI, "Our joint meetings lead to decisions and follow-up, not just updates.", (2, 3, 5)),  # noqa: E501
    DefaultQuestion("oi-processes", OI, "Our ways of working fit together well enough that joint work feels routine.", (3, 4)),  # noqa: E501
    DefaultQuestion("oi-escalation", OI, "When something is blocked, everyone knows how and where to escalate it.", (1, 2, 3)),  # noqa: E501
    DefaultQuestion("oi-tools", OI, "Shared tools, data and systems support the joint work rather than slow it down.", (2, 3, 4)),  # noqa: E501
    DefaultQuestion("oi-staffing", OI, "The alliance team has the capacity it needs; gaps are filled quickly.", (1, 3, 4, 5)),  # noqa: E501
    DefaultQuestion("oi-transition", OI, "If the alliance changed shape, we have a clear plan for handing over work and customers.", (1, 5)),  # noqa: E501
    # Relational trust: do people share early, keep promises, give the benefit of the doubt?
    DefaultQuestion("rt-promises", RT, "People on the other side do what they say they will do.", ALL_STAGES),  # noqa: E501
    DefaultQuestion("rt-bad-news", RT, "Bad news reaches us early, not at the last minute.", (2, 3, 4)),  # noqa: E501
    DefaultQuestion("rt-benefit-doubt", RT, "When something goes wrong, we assume good intent before we assume the worst.", (3, 4, 5)),  # noqa: E501
    DefaultQuestion("rt-openness", RT, "I can raise a concern with my counterparts without it damaging the relationship.", (1, 2, 3)),  # noqa: E501
    DefaultQuestion("rt-fair-conflict", RT, "Disagreements are settled in a way both sides see as fair.", (2, 3, 4, 5)),  # noqa: E501
    DefaultQuestion("rt-respect", RT, "The other side treats our people and our expertise with respect.", (1, 2, 3)),  # noqa: E501
    DefaultQuestion("rt-confidential", RT, "Sensitive information we share is handled the way we agreed.", (1, 2, 4)),  # noqa: E501
    DefaultQuestion("rt-relationships", RT, "Personal working relationships across the two teams are strong.", (3, 4, 5)),  # noqa: E501
    DefaultQuestion("rt-no-surprises", RT, "The partner does not make moves that affect us without telling us first.", (1, 4, 5)),  # noqa: E501
    DefaultQuestion("rt-goodwill", RT, "If the contract did not cover a situation, I would trust the partner to do the right thing.", (2, 5)),  # noqa: E501
    # Value realisation: is value being created, and is its split felt as fair?
    DefaultQuestion("vr-creating", VR, "The alliance is creating the value we expected at this point.", (3, 4, 5)),  # noqa: E501
    DefaultQuestion("vr-fair-split", VR, "The benefits of the alliance are shared fairly between the two sides.", ALL_STAGES),  # noqa: E501
    DefaultQuestion("vr-measured", VR, "We have agreed how to measure the value this alliance creates.", (1, 2)),  # noqa: E501
    DefaultQuestion("vr-customers", VR, "Customers are better off because of what we do together.", (3, 4, 5)),  # noqa: E501
    DefaultQuestion("vr-worth-effort", VR, "What my team gets from the alliance is worth the effort we put in.", (2, 3, 4)),  # noqa: E501
    DefaultQuestion("vr-learning", VR, "We are learning things from the partner that we would not have learned alone.", (2, 3, 4)),  # noqa: E501
    DefaultQuestion("vr-early-wins", VR, "We have had early wins that show the alliance can deliver.", (1, 2)),  # noqa: E501
    DefaultQuestion("vr-visible", VR, "The value of the alliance is visible to people outside the alliance team.", (3, 4, 5)),  # noqa: E501
    DefaultQuestion("vr-pipeline", VR, "Joint opportunities keep coming, not just the ones we started with.", (1, 3, 5)),  # noqa: E501
    DefaultQuestion("vr-case-renew", VR, "The results so far make a clear case for continuing the alliance.", (4, 5)),  # noqa: E501
]  # fmt: skip
