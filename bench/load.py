"""``make bench``, second part: 50 people at once on gunicorn, PostgreSQL and Redis.

Recreates its own PostgreSQL database (its name must contain "load": it is dropped first),
migrates it, builds the dataset (``manage.py bench_load_data``: a small bench portfolio with a
round open today in every alliance, each invitation's one-off token written to a file),
starts gunicorn as production runs it (``DEBUG=0``, Redis for the cache and sessions, behind
one TLS proxy: requests carry ``X-Forwarded-Proto: https`` and the client's address in
``X-Forwarded-For``) and runs ``bench/locustfile.py`` headless: 60 % survey respondents, each
answering one invitation like a browser, and 40 % signed-in managers viewing the portfolio,
one-pagers and the API.

Then it compares what the clients were told with what the database holds: every submission
answered "thank you" must be one stored response (with all its answers) on the invitation
of that token, and nothing else may be stored. It writes the "Load" section of
``docs/benchmarks.md`` (the other sections stay as they are) and exits 1 on any failed
request, interrupted respondent or mismatch, 2 on bad arguments.

The form helpers here are what the locust users call; they need only the standard library,
so the tests use them without starting locust (which patches the process with gevent).
"""

import argparse
import hashlib
import html.parser
import json
import os
import random
import secrets
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import psycopg

from bench.run import (
    LOAD_SECTION,
    PYTHON,
    ROOT,
    Server,
    analyze,
    log,
    machine,
    manage,
    ms,
    percentile,
    recreate_database,
)

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/concord_load"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/6"
LOCUSTFILE = ROOT / "bench" / "locustfile.py"
SECTION = "## Load"
# Seconds each user waits between tasks (locust's ``between``).
THINK_TIME = (0.5, 2)
# Request types in the order the report lists them (the locustfile names its requests so).
REQUEST_TYPES = [
    "survey: link",
    "survey: form",
    "survey: submit",
    "survey: thanks",
    "sign in: form",
    "sign in: submit",
    "portfolio",
    "one-pager",
    "API: alliances",
]


# --- what a respondent's browser does --------------------------------------------------------


class AnswerPage(html.parser.HTMLParser):
    """The answer form of ``/s/a/<slot>/``: its CSRF token, each question's radio group
    (name → the values offered) and the comment box."""

    def __init__(self):
        super().__init__()
        self.csrf_token = ""
        self.questions: dict[str, list[str]] = {}
        self.comment = ""

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        name = attrs.get("name") or ""
        if tag == "input" and name == "csrfmiddlewaretoken":
            self.csrf_token = attrs.get("value") or ""
        elif tag == "input" and attrs.get("type") == "radio":
            self.questions.setdefault(name, []).append(attrs.get("value") or "")
        elif tag == "textarea":
            self.comment = name

    @classmethod
    def parse(cls, page: str) -> "AnswerPage":
        parser = cls()
        parser.feed(page)
        if not parser.csrf_token or not parser.questions:
            raise ValueError("not an answer form: no CSRF token or no questions")
        return parser

    def answers(self, rng: random.Random) -> dict[str, str]:
        """What a person sends: one option per question (now and then "not applicable"),
        sometimes a comment."""
        data = {"csrfmiddlewaretoken": self.csrf_token}
        for name, values in self.questions.items():
            data[name] = rng.choice(values)
        if self.comment:
            data[self.comment] = rng.choice(["", "", "", "Steady progress; decisions are quick."])
        return data


def client_address(n: int) -> str:
    """The n-th person's address, as the TLS proxy reports it in ``X-Forwarded-For``."""
    return f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"


def csrf_token(page: str) -> str:
    """The CSRF token of a page's form ("" if it has none)."""
    parser = AnswerPage()
    parser.feed(page)
    return parser.csrf_token


# What the page after a stored response says (templates/surveys/public/done.html).
THANKS = "have been received"


# --- what the database holds afterwards -------------------------------------------------------


@dataclass
class Stored:
    responses: int  # in the rounds the load test opened
    used_invitations: int  # in those rounds
    accepted_used: int  # invitations of the accepted tokens that are used up
    incomplete: int  # responses without an answer to each of their round's questions


def stored(cursor, accepted_tokens: list[str]) -> Stored:
    """What the load test's rounds hold (a DB-API cursor on PostgreSQL)."""
    hashes = [hashlib.sha256(token.encode()).hexdigest() for token in accepted_tokens]
    # Everything bench_data made is closed: the open rounds are the load test's.
    cursor.execute(
        """
        WITH open_rounds AS (SELECT id FROM surveys_surveyround WHERE closed_at IS NULL)
        SELECT
          (SELECT count(*) FROM surveys_response
             WHERE round_id IN (SELECT id FROM open_rounds)),
          (SELECT count(*) FROM surveys_surveyinvitation
             WHERE round_id IN (SELECT id FROM open_rounds) AND responded_on IS NOT NULL),
          (SELECT count(DISTINCT i.id) FROM surveys_surveyinvitation i
             JOIN surveys_surveylink l ON l.invitation_id = i.id
             WHERE l.token_hash = ANY(%s) AND i.responded_on IS NOT NULL),
          (SELECT count(*) FROM surveys_response r
             WHERE r.round_id IN (SELECT id FROM open_rounds)
             AND (SELECT count(*) FROM surveys_answer a WHERE a.response_id = r.id)
              <> (SELECT count(*) FROM surveys_roundquestion q WHERE q.round_id = r.round_id))
        """,
        [hashes],
    )
    return Stored(*cursor.fetchone())


def mismatches(results: dict, found: Stored) -> list[str]:
    """Why the run failed: each failed request kind, each respondent cut short, each
    difference between what the clients were told and what the database holds."""
    problems = [f"{count} × {name}: {message}" for name, message, count in results["failures"]]
    accepted = len(results["accepted"])
    if results["respondents_started"] != results["respondents_finished"]:
        problems.append(
            f"{results['respondents_started'] - results['respondents_finished']} respondents "
            "were stopped mid-submission"
        )
    if results["out_of_tokens"]:
        problems.append(f"{results['out_of_tokens']} respondents found no token left")
    if found.responses != accepted:
        problems.append(f"{found.responses} responses stored, {accepted} submissions accepted")
    if found.used_invitations != accepted:
        problems.append(f"{found.used_invitations} invitations used, {accepted} accepted")
    if found.accepted_used != accepted:
        problems.append(f"only {found.accepted_used} of {accepted} accepted tokens are used up")
    if found.incomplete:
        problems.append(f"{found.incomplete} stored responses lack answers")
    if not accepted:
        problems.append("no submission was accepted")
    return problems


# --- the report -------------------------------------------------------------------------------


def section(*, results: dict, found: Stored, problems: list[str], context: dict) -> str:
    rows = [
        "| request type | requests | failures | p50 (ms) | p95 (ms) | p99 (ms) | max (ms) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    failed = {}
    for name, _, count in results["failures"]:
        failed[name] = failed.get(name, 0) + count
    names = [n for n in REQUEST_TYPES if n in results["times"]]
    names += sorted(set(results["times"]) - set(REQUEST_TYPES))
    total = 0
    for name in names:
        times = [t / 1000 for t in results["times"][name]]
        total += len(times)
        rows.append(
            f"| {name} | {len(times):,} | {failed.get(name, 0)} | {ms(percentile(times, 0.5))} "
            f"| {ms(percentile(times, 0.95))} | {ms(percentile(times, 0.99))} "
            f"| {ms(max(times))} |"
        )
    accepted = len(results["accepted"])
    verdict = "PASS" if not problems else "FAIL"
    lines = [
        SECTION,
        "",
        f"Written by `make bench` (`bench/load.py`, scenario `bench/locustfile.py`). Result: "
        f"**{verdict}**.",
        "",
        f"- Date: {context['started']:%Y-%m-%d %H:%M} UTC",
        f"- Command: `{context['command']}`",
        f"- Locust: `{context['locust']}`",
        f"- Machine: {context['machine']}; gunicorn, PostgreSQL, Redis and locust share its "
        f"cores. Load average (1, 5, 15 min) before the dataset was built: "
        f"{context['load_start']}; when locust started: {context['load_before']}; when it "
        f"ended: {context['load_after']}",
        f"- Server: gunicorn {context['workers']} sync workers, `DEBUG=0`, PostgreSQL "
        f"{context['postgres']}, Redis for the cache and sessions, `TRUSTED_PROXY_COUNT=1`",
        f"- Dataset: `manage.py bench_load_data --alliances {context['alliances']} --months "
        f"{context['months']}`: {context['alliances']} alliances, each with {context['months']} "
        f"month(s) of closed rounds and one round open today; {context['tokens']:,} unanswered "
        "invitations, one token each",
        "",
        f"{context['users']} users (spawned {context['spawn_rate']}/s) for "
        f"{context['run_time']}, each waiting {THINK_TIME[0]}–{THINK_TIME[1]} s between tasks: "
        f"{results['users'].get('Respondent', 0)} respondents, each task a new person "
        "(own address, no cookies) opening an unused link, loading the form, sending it with "
        "its CSRF token (`Origin: null`, no `Referer`, as a browser does under the survey "
        f"pages' `no-referrer`) and reading the thanks; {results['users'].get('Manager', 0)} "
        "managers, each signed in once through the login form, then viewing the portfolio (3), "
        "a random one-pager (3) and listing alliances over the API with a personal token (1). "
        "The managers sign in while the respondents start, so the password hashing (slow on "
        "purpose) weighs on the first seconds. Users finish their task when the time is up "
        "(`--stop-timeout`). Times are the client's, to the last byte of the body; redirects "
        "are not followed, so each request is timed on its own.",
        "",
        *rows,
        "",
        f"{total:,} requests in {results['seconds']:.0f} s ({total / results['seconds']:.0f} "
        f"per second), {sum(c for _, _, c in results['failures'])} failed. "
        f"Submissions accepted (`302` to the thanks page, which then said so): {accepted:,}; "
        f"responses stored in the open rounds: {found.responses:,}; invitations used: "
        f"{found.used_invitations:,}, of which those of the accepted tokens: "
        f"{found.accepted_used:,}; responses lacking answers: {found.incomplete}.",
        "",
    ]
    if problems:
        lines += ["Failures:", "", *[f"- {p}" for p in problems], ""]
    return "\n".join(lines)


def write_section(path: Path, text: str) -> None:
    """Put ``text`` in place of the file's Load section (or at its end): the page benchmark
    (``bench/run.py``) writes the rest of the file and keeps this section likewise."""
    current = path.read_text() if path.exists() else "# Benchmarks\n"
    path.write_text(replace_section(current, text))


def replace_section(document: str, text: str) -> str:
    kept = LOAD_SECTION.sub("", document).rstrip("\n")
    return f"{kept}\n\n{text.rstrip()}\n"


def loadavg() -> str:
    return ", ".join(f"{value:.2f}" for value in os.getloadavg())


# --- main -----------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url", default=os.environ.get("LOAD_DATABASE_URL", DEFAULT_DATABASE_URL)
    )
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("LOAD_REDIS_URL", DEFAULT_REDIS_URL),
        help="Redis for the cache and sessions (emptied first)",
    )
    parser.add_argument("--alliances", type=int, default=300)
    parser.add_argument("--months", type=int, default=3)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--spawn-rate", type=int, default=10)
    parser.add_argument("--run-time", default="60s")
    parser.add_argument(
        "--workers", type=int, default=2 * (os.cpu_count() or 1) + 1, help="gunicorn workers"
    )
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "benchmarks.md")
    options = parser.parse_args()
    if not options.database_url.startswith(("postgres://", "postgresql://")):
        parser.error("the load test runs on PostgreSQL: give a postgres:// --database-url")
    started = datetime.now(UTC)
    load_start = loadavg()
    command = " ".join(["python -m bench.load", *sys.argv[1:]])
    if os.environ.get("MAKELEVEL"):
        command = f"make bench  # {command}"
    var = ROOT / "var" / "load"
    env = {
        **os.environ,
        "DATABASE_URL": options.database_url,
        "REDIS_URL": options.redis_url,
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(40),
        "ALLOWED_HOSTS": "127.0.0.1",
        "CONCORD_VAR_DIR": str(var),
        "TRUSTED_PROXY_COUNT": "1",
        "LOG_LEVEL": "WARNING",
    }
    env.pop("CELERY_BROKER_URL", None)
    import redis

    redis.Redis.from_url(options.redis_url).flushdb()
    log("create database")
    recreate_database(options.database_url, marker="load")
    log("migrate")
    manage(env, "migrate", "--noinput", "-v0")
    data = var / "load-data.json"
    log("generate dataset")
    manage(env, "bench_load_data", "--alliances", str(options.alliances),
           "--months", str(options.months), "--output", str(data))  # fmt: skip
    analyze(options.database_url)
    manage(env, "collectstatic", "--noinput", "-v0")
    server = Server(env, options.workers)
    with tempfile.TemporaryDirectory() as tmp:
        results_file = Path(tmp) / "results.json"
        locust = [
            "locust", "-f", "bench/locustfile.py", "--headless",
            "--users", str(options.users), "--spawn-rate", str(options.spawn_rate),
            "--run-time", options.run_time, "--stop-timeout", "30",
            "--host", f"http://{server.host}", "--only-summary", "--loglevel", "WARNING",
        ]  # fmt: skip
        try:
            server.wait_ready()
            load_before = loadavg()
            log(f"locust: {options.users} users for {options.run_time}")
            subprocess.run(  # noqa: S603 - locust from our own virtualenv
                [PYTHON, "-m", *locust],
                cwd=ROOT,
                env={**env, "PYTHONPATH": str(ROOT), "CONCORD_LOAD_DATA": str(data),
                     "CONCORD_LOAD_RESULTS": str(results_file)},
                check=False,
            )  # fmt: skip
            load_after = loadavg()
        finally:
            server.stop()
        if not results_file.exists():
            log("locust wrote no results")
            return 1
        results = json.loads(results_file.read_text())
    with psycopg.connect(options.database_url) as conn:
        found = stored(conn.cursor(), results["accepted"])
    problems = mismatches(results, found)
    about = dict(machine(options.database_url, options.workers))
    text = section(
        results=results,
        found=found,
        problems=problems,
        context={
            "started": started,
            "command": command,
            "locust": " ".join(locust).replace(f"http://{server.host}", "http://<gunicorn>"),
            "machine": f"{about['CPU']}, {about['memory']}, {about['OS']}",
            "load_start": load_start,
            "load_before": load_before,
            "load_after": load_after,
            "workers": options.workers,
            "postgres": about["PostgreSQL"],
            "alliances": options.alliances,
            "months": options.months,
            "tokens": len(json.loads(data.read_text())["tokens"]),
            "users": options.users,
            "spawn_rate": options.spawn_rate,
            "run_time": options.run_time,
        },
    )
    write_section(options.output, text)
    log(f"wrote the Load section of {options.output}")
    print(text)
    for problem in problems:
        print(f"  FAILED       {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
