"""Default gate checklists: what should be true before an alliance leaves each stage."""

from .models import Stage

DEFAULT_GATE_ITEMS: dict[int, list[str]] = {
    Stage.FORMATION: [
        "Both sides can say why the alliance exists in the same single sentence",
        "The value thesis is written down and both sides have read it",
        "The partner-fit scorecard has been completed",
        "Both sides have agreed what the alliance will not do",
        "The ways this alliance could end have been named and discussed",
    ],
    Stage.GOVERNANCE: [
        "Governance bodies and their meeting rhythm are set",
        "The decision-rights matrix has been agreed by both sides",
        "The escalation ladder has been agreed by both sides",
        "Each side has named its alliance manager",
        "Terms for intellectual property and data are settled",
    ],
    Stage.EXECUTION: [
        "The joint kickoff has taken place",
        "A first baseline of the alliance's KPIs has been recorded",
        "The first pulse survey round has been completed",
        "An early, visible win has been delivered together",
    ],
    Stage.EVALUATION: [
        "A health review has been carried out",
        "Value delivered has been compared with the value expected",
        "Each side has reviewed whether it is committing the resources it promised",
    ],
    Stage.RENEWAL_EXIT: [
        "The original business case has been re-examined against today's facts",
        "Trust and satisfaction on both sides have been assessed",
        "The decision to renew, restructure or exit has been recorded",
        "Lessons learned have been written down",
    ],
}
