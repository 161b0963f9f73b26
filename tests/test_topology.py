"""The production topology end to end, as real processes: PostgreSQL, Redis, an SMTP server
(aiosmtpd on loopback), gunicorn, a Celery worker and beat ticking every second.

Beat opens the round that is due, the invitations arrive by SMTP, each link is followed and
answered over HTTP as a browser would, the round closes, its scores and lights appear (in the
database and the API), and the red light's alert reaches the alliance managers by SMTP.
Runs in CI (CONCORD_REQUIRE_SERVICES=1). The fault tests are in test_faults.py.
"""

from contextlib import ExitStack

import pytest

from tests.conftest import need_services
from tests.topology import (
    Browser,
    SmtpSink,
    Topology,
    answer_survey,
    api_get,
    close_window,
    enqueue_only,
    links_in,
    pulse_world,
)


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_full_cycle_on_the_real_topology(tmp_path, settings):
    need_services()
    enqueue_only(settings)
    from scorecards.lights import Color
    from scorecards.models import Alert, AlertKind, Light, Metric, RoundHealth, View
    from surveys.models import Answer, Response, SurveyInvitation, SurveyRound

    world = pulse_world()
    alliance = world.alliance
    with ExitStack() as stack:
        sink = SmtpSink().accept()
        stack.callback(sink.refuse)
        topo = Topology(stack, tmp_path, TIME_ZONE=world.time_zone)
        topo.use_sink(sink)
        topo.collectstatic()
        topo.gunicorn()
        topo.worker()
        topo.beat()

        # Beat opens the round; the worker emails every participant.
        survey_round = topo.wait_for(
            lambda: SurveyRound.objects.filter(alliance=alliance).first(),
            timeout=60,
            what="beat to open the due round",
        )
        emails = {c.email for c in world.contacts}
        subject = f"{alliance.name}: two minutes"
        topo.wait_for(
            lambda: set(sink.recipients(subject)) == emails,
            timeout=60,
            what="an invitation email per participant at the SMTP sink",
        )
        assert sorted(sink.recipients(subject).values()) == [1] * len(emails)
        invitations = SurveyInvitation.objects.filter(round=survey_round)
        assert not invitations.filter(sent_at__isnull=True).exists()

        # Each person follows their link and answers, low, as a browser would.
        for message in sink.received(subject):
            (link,) = links_in(message, topo.base_url)
            page = answer_survey(Browser(topo.base_url), link.removeprefix(topo.base_url))
            assert page.status == 302 and page.location.endswith("/s/done/"), (
                page.status,
                page.text[:500],
                topo.logs(),
            )
        assert Response.objects.filter(round=survey_round).count() == len(emails)
        assert invitations.filter(responded_on__isnull=False).count() == len(emails)
        assert Answer.objects.filter(round=survey_round).count() == len(emails) * (
            survey_round.questions.count()
        )

        # The window ends; beat's close, score and threshold jobs do the rest.
        close_window(SurveyRound.objects.filter(pk=survey_round.pk))
        health = topo.wait_for(
            lambda: RoundHealth.objects.filter(round=survey_round).first(),
            timeout=60,
            what="the closed round to be scored",
        )
        assert health.responded == len(emails) and health.invited == len(emails)
        relational = topo.wait_for(
            lambda: Light.objects.filter(
                round=survey_round, metric=Metric.RELATIONAL, view=View.ALL
            ).first(),
            timeout=30,
            what="the round's lights",
        )
        assert relational.color == Color.RED, relational.reasons
        alert = topo.wait_for(
            lambda: Alert.objects.filter(alliance=alliance, kind=AlertKind.RED).first(),
            timeout=30,
            what="a red alert",
        )

        # The alliance managers of both sides are told, once each, by one email listing
        # this run's alerts (the red lights among them).
        managers = {c.email for c in world.contacts if c.function == "alliance_manager"}
        assert managers and len(managers) < len(emails)

        def alert_mail():
            return [m for m in sink.received() if subject not in str(m["subject"])]

        topo.wait_for(
            lambda: {str(m["to"]) for m in alert_mail()} == managers,
            timeout=30,
            what="the alert email to both alliance managers",
        )
        mail = alert_mail()
        assert sorted(str(m["to"]) for m in mail) == sorted(managers), sink.summary()
        for message in mail:
            body = message.get_body(preferencelist=("plain",)).get_content()
            assert alliance.name in body and alert.get_metric_display() in body, body

        # gunicorn serves the one-pager's lights through the API.
        status, body = api_get(
            topo.base_url,
            f"/api/v1/organizations/{world.lead.slug}/alliances/{alliance.pk}/scores/latest/",
            world.key,
        )
        assert status == 200, (status, body, topo.logs())
        assert body["round"]["round"] == survey_round.pk, body
        assert [card["color"] for card in body["corners"]] == ["red"] * 4, body
