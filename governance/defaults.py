"""Default decision-rights rows an alliance gets when it enters the governance stage."""

from .models import JointApproval, Rung

DEFAULT_DECISION_RIGHTS = [
    # decision type, owner, joint approval, forum, SLA days, escalates to
    ("Roadmap changes", "Operational council", JointApproval.YES, "Operational council", 10,
     Rung.STEERING_COMMITTEE),
    ("Commercial terms", "Business leads", JointApproval.YES, "Business leads", 15,
     Rung.STEERING_COMMITTEE),
    ("Data sharing", "Security and legal", JointApproval.YES, "Security and legal review", 20,
     Rung.STEERING_COMMITTEE),
    ("Delivery trade-offs", "Delivery leads", JointApproval.SOMETIMES, "Working team", 5,
     Rung.ALLIANCE_MANAGERS),
    # Where a corner red two rounds running is escalated (the health check's row).
    ("Alliance health warnings", "Alliance managers", JointApproval.YES, "Operational council",
     10, Rung.ALLIANCE_MANAGERS),
]  # fmt: skip
