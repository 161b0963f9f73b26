"""Operational pages: liveness and health for load balancers and monitors, the dev outbox."""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache

from .mail import outbox_messages
from .models import JobRun


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except Exception:
        return False


def _broker_ok() -> bool:
    from config.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return True
    except Exception:
        return False


@never_cache
def livez(request):
    """The process answers: nothing else is looked at (no database, no session), so a slow
    database never gets healthy web processes restarted. ``/healthz`` checks the services."""
    return HttpResponse("ok", content_type="text/plain")


@never_cache
def healthz(request):
    database = _database_ok()
    broker = _broker_ok()
    jobs = {}
    heartbeat_fresh = False
    if database:
        for run in JobRun.objects.order_by("name"):
            jobs[run.name] = {
                "last_finished_at": run.last_finished_at.isoformat()
                if run.last_finished_at
                else None,
                "runs": run.runs,
                "ok": not run.last_error,
            }
            if run.name == "heartbeat" and run.last_finished_at:
                age = timezone.now() - run.last_finished_at
                heartbeat_fresh = age <= settings.HEARTBEAT_STALE_AFTER
    body = {
        "status": "ok" if database and broker else "error",
        "database": "ok" if database else "error",
        "broker": "ok" if broker else "error",
        "heartbeat": "ok" if heartbeat_fresh else "stale",
        "last_job_run": jobs.get("heartbeat", {}).get("last_finished_at"),
        "jobs": jobs,
    }
    return JsonResponse(body, status=200 if database and broker else 503)


@login_required
def outbox(request):
    """The embedded default's email outbox, for trying the emailed links in a demo."""
    if not settings.DEBUG or not request.user.is_staff:
        raise Http404
    return render(request, "dev/outbox.html", {"messages_": outbox_messages()})


def csrf_failure(request, reason=""):
    """A form sent without its security token: usually an old page or blocked cookies.
    Said plainly, in the survey's own look on survey pages."""
    template = (
        "surveys/public/form_expired.html"
        if request.path.startswith("/s/")
        else "form_expired.html"
    )
    response = render(request, template, status=403)
    if request.path.startswith("/s/"):
        response["Referrer-Policy"] = "no-referrer"
    return response
