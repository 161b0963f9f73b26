"""The load scenario of ``make bench``: survey respondents and managers at once.

Run by ``bench/load.py``, which builds the dataset, starts gunicorn and checks the results;
``CONCORD_LOAD_DATA`` names the dataset's file (``manage.py bench_load_data``) and
``CONCORD_LOAD_RESULTS`` the file this writes when the test stops: every request's time by
type, the failures, the tokens whose submission was accepted and how many respondents
started and finished (a respondent stopped between sending and hearing back would be a
response nobody knows about).

Each request is timed on its own (redirects are not followed). The server sits behind a
TLS proxy as in production: requests say ``X-Forwarded-Proto: https`` and carry the client's
address in ``X-Forwarded-For``.
"""

import json
import os
import random
import time
from collections import Counter, defaultdict
from itertools import count
from pathlib import Path

from locust import HttpUser, between, events, task
from locust.exception import StopUser

from bench.load import THANKS, THINK_TIME, AnswerPage, client_address, csrf_token

DATA = json.loads(Path(os.environ["CONCORD_LOAD_DATA"]).read_text())
TOKENS = iter(DATA["tokens"])  # each answers one invitation, once
PEOPLE = count(1)  # every respondent task and every manager is a person of their own
RNG = random.Random()  # noqa: S311 - which answers a test user picks

times: dict[str, list[float]] = defaultdict(list)
failures: Counter = Counter()
accepted: list[str] = []
tally: Counter = Counter()


@events.request.add_listener
def record(name, response_time, exception, **kwargs):
    times[name].append(response_time)
    if exception is not None:
        failures[(name, str(exception)[:200])] += 1


@events.user_error.add_listener
def crashed(user_instance, exception, tb, **kwargs):
    failures[(f"{type(user_instance).__name__} task", repr(exception)[:200])] += 1


@events.test_start.add_listener
def started(environment, **kwargs):
    tally["started at"] = time.monotonic()


@events.test_stop.add_listener
def write_results(environment, **kwargs):
    Path(os.environ["CONCORD_LOAD_RESULTS"]).write_text(
        json.dumps(
            {
                "seconds": time.monotonic() - tally["started at"],
                "times": times,
                "failures": [[name, message, n] for (name, message), n in failures.items()],
                "accepted": accepted,
                "respondents_started": tally["started"],
                "respondents_finished": tally["finished"],
                "out_of_tokens": tally["out of tokens"],
                "users": {"Respondent": tally["Respondent"], "Manager": tally["Manager"]},
            }
        )
    )


class Person(HttpUser):
    abstract = True
    wait_time = between(*THINK_TIME)

    def on_start(self):
        tally[type(self).__name__] += 1
        self.origin = f"https://{self.host.split('://', 1)[1]}"
        self.become(next(PEOPLE))

    def become(self, n: int) -> None:
        self.client.cookies.clear()
        self.client.headers.update(
            {"X-Forwarded-Proto": "https", "X-Forwarded-For": client_address(n)}
        )

    def fetch(self, method, path, *, name, expect=200, redirect_to="", says="", **kwargs):
        """One request, failed unless it answers ``expect`` (redirecting to a URL that starts
        with ``redirect_to``, saying ``says``); returns the response, or None if it failed."""
        # The proxy terminates TLS, so the server's Secure cookies come back over plain http
        # between proxy and gunicorn: the cookie jar would hold them back.
        for cookie in self.client.cookies:
            cookie.secure = False
        with self.client.request(
            method, path, name=name, allow_redirects=False, catch_response=True, **kwargs
        ) as response:
            location = response.headers.get("Location", "")
            if response.status_code != expect:
                response.failure(f"HTTP {response.status_code}, expected {expect}")
            elif not location.startswith(redirect_to):
                response.failure(f"redirected to {location}, expected {redirect_to}")
            elif says not in response.text:
                response.failure(f"the page does not say {says!r}")
            else:
                return response
            return None


class Respondent(Person):
    """Someone who got a pulse email: follows the link once, answers, reads the thanks."""

    weight = 3

    @task
    def answer_survey(self):
        token = next(TOKENS, None)
        if token is None:
            tally["out of tokens"] += 1
            raise StopUser
        self.become(next(PEOPLE))
        tally["started"] += 1
        try:
            self.answer(token)
        except Exception:  # a failure, not an interruption (that is a GreenletExit)
            tally["finished"] += 1
            raise
        tally["finished"] += 1

    def answer(self, token: str) -> None:
        link = self.fetch("GET", f"/s/{token}/", name="survey: link", expect=302,
                          redirect_to="/s/a/")  # fmt: skip
        if link is None:
            return
        form_url = link.headers["Location"]
        page = self.fetch("GET", form_url, name="survey: form")
        if page is None:
            return
        sent = self.fetch(
            "POST",
            form_url,
            name="survey: submit",
            expect=302,
            redirect_to="/s/done/",
            data=AnswerPage.parse(page.text).answers(RNG),
            # The survey pages send "Referrer-Policy: no-referrer": a browser's form post
            # then says "Origin: null" and has no Referer.
            headers={"Origin": "null"},
        )
        if sent is None:
            return
        if self.fetch("GET", "/s/done/", name="survey: thanks", says=THANKS) is not None:
            accepted.append(token)


class Manager(Person):
    """An alliance manager of the lead organisation: signs in once, then reads dashboards."""

    weight = 2

    def on_start(self):
        super().on_start()
        self.alliances = DATA["alliances"]
        self.org = DATA["organization"]
        form = self.fetch("GET", "/accounts/login/", name="sign in: form")
        if form is None:
            raise StopUser
        signed_in = self.fetch(
            "POST",
            "/accounts/login/",
            name="sign in: submit",
            expect=302,
            redirect_to="/",
            data={"csrfmiddlewaretoken": csrf_token(form.text), "username": DATA["login"],
                  "password": DATA["password"]},
            headers={"Origin": self.origin, "Referer": f"{self.origin}/accounts/login/"},
        )  # fmt: skip
        if signed_in is None:
            raise StopUser

    @task(3)
    def portfolio(self):
        self.fetch("GET", f"/o/{self.org}/portfolio/", name="portfolio")

    @task(3)
    def one_pager(self):
        alliance = RNG.choice(self.alliances)
        self.fetch("GET", f"/o/{self.org}/alliances/{alliance}/", name="one-pager")

    @task
    def api(self):
        self.fetch(
            "GET",
            f"/api/v1/organizations/{self.org}/alliances/?page_size=50",
            name="API: alliances",
            headers={"Authorization": f"Bearer {DATA['api_key']}", "Accept": "application/json"},
        )
