"""``make bench``: page performance on a large portfolio, measured on one server in one run.

Creates a fresh PostgreSQL database (its name must contain "bench": it is dropped first),
migrates it, generates the dataset (``manage.py bench_data``), collects static files, starts
gunicorn as production would run it (``DEBUG=0``, behind a TLS proxy: requests carry
``X-Forwarded-Proto: https``), signs in over HTTP as the bench user, runs the scenarios and
writes ``docs/benchmarks.md``. gunicorn is stopped whatever happens. Exits 1 when a page
does not answer 200, 2 on bad arguments.

Scenarios are functions in ``SCENARIOS``: each gets the running ``Server`` and the options
and returns a ``Section`` (markdown, targets met or missed, failures). To add one, write
the function and add it there; ``--scenario NAME`` runs only some. The load test, on a
dataset of its own, is ``bench/load.py``: it writes the "Load" section of the same file,
which this keeps.

Only the standard library and psycopg (a Concord dependency) are used.
"""

import argparse
import gzip
import html.parser
import http.client
import json
import math
import os
import platform
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode, urlsplit, urlunsplit

import psycopg

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/concord_bench"

# The pages measured, in one place. ``{org}`` and ``{alliance}`` come from the dataset.
PAGES = {
    "one-pager": "/o/{org}/alliances/{alliance}/",
    "portfolio": "/o/{org}/portfolio/",
    # The same pages with the rendered dashboards forgotten before each request: what a view
    # costs right after something on it changed.
    "one-pager, rendered": "/o/{org}/alliances/{alliance}/",
    "portfolio, rendered": "/o/{org}/portfolio/",
    "trivial view": "/livez",
    "one-query view": "/bench/one-query",
}
BASELINE = "one-query view"
# Targets: a page's p50 at most this many times the one-query view's p50 …
LATENCY_TARGETS = {"one-pager": 3, "portfolio": 20}
# … and its weight at most this many bytes.
JS_TARGET = 600_000  # gzipped JavaScript of a cold load, per page
HTML_TARGET = {"one-pager": 30_000}  # gzipped HTML
WEIGHED = ["one-pager", "portfolio"]
# The part of docs/benchmarks.md that the load test writes (bench/load.py).
LOAD_SECTION = re.compile(r"^## Load\n.*?(?=^## |\Z)", re.MULTILINE | re.DOTALL)


# --- running things -------------------------------------------------------------------------


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def manage(env: dict, *args: str) -> str:
    """Run ``manage.py``, showing its output as it comes, and return it; fail loudly."""
    process = subprocess.Popen(  # noqa: S603 - our own manage.py with our own arguments
        [PYTHON, "manage.py", *args], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
    )
    lines = []
    for line in process.stdout:
        print(line, end="", flush=True)
        lines.append(line)
    if process.wait() != 0:
        raise SystemExit(f"manage.py {' '.join(args)} failed ({process.returncode})")
    return "".join(lines)


def recreate_database(url: str, marker: str = "bench") -> None:
    name = urlsplit(url).path.lstrip("/")
    if marker not in name:
        raise SystemExit(f"Refusing to drop {name!r}: the database's name must contain {marker!r}.")
    admin = urlunsplit(urlsplit(url)._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def analyze(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("ANALYZE")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- HTTP, as a browser behind a TLS proxy ---------------------------------------------------


@dataclass
class Reply:
    status: int
    body: bytes
    headers: dict
    seconds: float


class Server:
    """A gunicorn on 127.0.0.1 and a signed-in client for it (cookies kept by hand: they
    are Secure, which a cookie jar would not send over plain http)."""

    def __init__(self, env: dict, workers: int):
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.cookies: dict[str, str] = {}
        self.process = subprocess.Popen(  # noqa: S603 - gunicorn from our own virtualenv
            [PYTHON, "-m", "gunicorn", "config.wsgi", "--bind", self.host,
             "--workers", str(workers), "--log-level", "warning"],
            cwd=ROOT, env=env, start_new_session=True,
        )  # fmt: skip

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit("gunicorn exited during startup")
            try:
                if self.get("/livez").status == 200:
                    return
            except OSError:
                time.sleep(0.2)
        raise SystemExit("gunicorn did not answer /livez in time")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()

    def request(self, method: str, path: str, body: bytes | None = None, headers=None) -> Reply:
        headers = {
            "Host": self.host,
            "X-Forwarded-Proto": "https",
            "Accept": "text/html,*/*",
            **(headers or {}),
        }
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        started = time.perf_counter()
        conn = http.client.HTTPConnection(self.host, timeout=60)
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
        finally:
            conn.close()
        seconds = time.perf_counter() - started
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                key, _, rest = value.partition("=")
                self.cookies[key.strip()] = rest.split(";", 1)[0]
        return Reply(response.status, data, dict(response.getheaders()), seconds)

    def get(self, path: str) -> Reply:
        return self.request("GET", path)

    def login(self, email: str, password: str) -> None:
        form = self.get("/accounts/login/")
        token = FormToken.find(form.body.decode())
        origin = f"https://{self.host}"
        reply = self.request(
            "POST",
            "/accounts/login/",
            body=urlencode(
                {"csrfmiddlewaretoken": token, "username": email, "password": password}
            ).encode(),
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Origin": origin,
                "Referer": f"{origin}/accounts/login/",
            },
        )
        if reply.status != 302 or "sessionid" not in self.cookies:
            raise SystemExit(f"Signing in as {email} failed (HTTP {reply.status}).")


class FormToken(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.token = ""

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "input" and attrs.get("name") == "csrfmiddlewaretoken":
            self.token = attrs.get("value", "")

    @classmethod
    def find(cls, page: str) -> str:
        parser = cls()
        parser.feed(page)
        if not parser.token:
            raise SystemExit("No CSRF token on the login page.")
        return parser.token


class Scripts(html.parser.HTMLParser):
    """The JavaScript a cold load of a page fetches: every ``<script src>``, and the scripts
    a script loads itself when the page has a chart to draw (named in its ``data-*``
    attributes, as ``static/js/charts.js`` loads plotly from ``data-plotly``)."""

    def __init__(self):
        super().__init__()
        self.sources: list[str] = []
        self.loaded_later: list[str] = []
        self.has_chart = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "data-figure" in attrs:
            self.has_chart = True
        if tag != "script":
            return
        for name, value in attrs.items():
            if name == "src" and value not in self.sources:
                self.sources.append(value)
            elif name.startswith("data-") and (value or "").endswith(".js"):
                self.loaded_later.append(value)

    @classmethod
    def of(cls, page: str) -> list[str]:
        parser = cls()
        parser.feed(page)
        later = [s for s in parser.loaded_later if s not in parser.sources]
        return parser.sources + (later if parser.has_chart else [])


def gzipped(data: bytes) -> int:
    return len(gzip.compress(data, compresslevel=9))


# --- results -------------------------------------------------------------------------------


@dataclass
class Target:
    what: str
    measured: str
    limit: str
    met: bool | None  # None: could not be measured


@dataclass
class Section:
    title: str
    markdown: str
    targets: list[Target] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q * len(ordered))) - 1]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def kb(size: int) -> str:
    return f"{size / 1000:.1f} kB"


# --- scenarios ------------------------------------------------------------------------------


def pages_scenario(server: Server, options, dataset: dict) -> Section:
    """Latency of each page, measured in interleaved rounds (drift hits all pages alike),
    and the weight of the one-pager and the portfolio."""
    urls = {
        name: path.format(org=dataset["organization"], alliance=dataset["alliance"])
        for name, path in PAGES.items()
    }
    failures = []
    first: dict[str, float] = {}  # the first view: before any cache the app keeps is warm
    forget = _forgetter(options.redis_url)
    for name, url in list(urls.items()):
        if name.endswith(", rendered"):
            forget(name.removesuffix(", rendered"))
        reply = server.get(url)
        first[name] = reply.seconds
        if reply.status != 200:
            failures.append(f"{name} ({url}) answered HTTP {reply.status}")
            del urls[name]
    log(f"warming up ({options.warmup} requests per page)")
    for _ in range(options.warmup):
        for url in urls.values():
            server.get(url)
    log(f"measuring {len(urls)} pages × {options.requests} requests")
    # Other work on the machine moves every page's figures: say how busy it was.
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    times: dict[str, list[float]] = {name: [] for name in urls}
    names = list(urls)
    for n in range(options.requests):
        shift = n % len(names)
        for name in names[shift:] + names[:shift]:
            if name.endswith(", rendered"):
                forget(name.removesuffix(", rendered"))  # not timed
            reply = server.get(urls[name])
            if reply.status != 200:
                failures.append(f"{name} answered HTTP {reply.status} while measured")
            times[name].append(reply.seconds)
    p50 = {name: percentile(values, 0.5) for name, values in times.items()}
    p99 = {name: percentile(values, 0.99) for name, values in times.items()}
    base = p50.get(BASELINE)
    rows = [
        "| page | URL | first view (ms) | p50 (ms) | p99 (ms) | p50 ÷ one-query p50 |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for name, path in PAGES.items():
        if name in times:
            ratio = f"{p50[name] / base:.1f}×" if base else "—"
            rows.append(
                f"| {name} | `{urls[name]}` | {ms(first[name])} | {ms(p50[name])} "
                f"| {ms(p99[name])} | {ratio} |"
            )
        else:
            rows.append(f"| {name} | `{path}` | — | not measured | — | — |")
    targets = []
    for name, factor in LATENCY_TARGETS.items():
        if name in p50 and base:
            ratio = p50[name] / base
            targets.append(
                Target(f"{name} p50 ≤ {factor}× one-query p50", f"{ratio:.1f}×", f"{factor}×",
                       ratio <= factor)
            )  # fmt: skip
        else:
            targets.append(Target(f"{name} p50 ≤ {factor}× one-query p50", "—", f"{factor}×", None))
    weight_rows = [
        "| page | HTML | HTML gzipped | scripts (cold load) | JavaScript gzipped |",
        "| --- | ---: | ---: | --- | ---: |",
    ]
    for name in WEIGHED:
        if name not in urls:
            targets.append(Target(f"{name}: gzipped JavaScript ≤ 600 kB", "—", kb(JS_TARGET), None))
            continue
        page = server.get(urls[name]).body
        sources = Scripts.of(page.decode())
        js = 0
        for src in sources:
            reply = server.get(urlsplit(src).path if src.startswith("http") else src)
            if reply.status != 200:
                failures.append(f"{name}: script {src} answered HTTP {reply.status}")
            js += gzipped(reply.body)
        listed = ", ".join(f"`{src}`" for src in sources) or "none"
        weight_rows.append(
            f"| {name} | {kb(len(page))} | {kb(gzipped(page))} | {listed} | {kb(js)} |"
        )
        targets.append(
            Target(f"{name}: gzipped JavaScript ≤ 600 kB (cold load)", kb(js), kb(JS_TARGET),
                   js <= JS_TARGET)
        )  # fmt: skip
        if name in HTML_TARGET:
            size = gzipped(page)
            targets.append(
                Target(f"{name}: HTML ≤ 30 kB gzipped", kb(size), kb(HTML_TARGET[name]),
                       size <= HTML_TARGET[name])
            )  # fmt: skip
    markdown = "\n".join(
        [
            f"Each page requested {options.requests} times, one request at a time, in "
            f"interleaved rounds (after {options.warmup} warm-up rounds); a new connection "
            f"per request, time to the last byte of the body. Load average when measuring "
            f"began: {load}. *First view*: the page's first request after the server started "
            "(one sample, before any cache the app keeps is warm); p50 and p99 are over the "
            "measured requests, which a page cache serves once warm.",
            "",
            *rows,
            "",
            "Page weight (gzip -9, as a compressing proxy would send it; JavaScript: every "
            "`<script src>` of the page and, when it has a chart, the plotly that `charts.js` "
            "loads from its `data-plotly`, all fetched from the server):",
            "",
            *weight_rows,
        ]
    )
    return Section("Page latency and weight", markdown, targets, failures)


SCENARIOS: dict[str, Callable[[Server, argparse.Namespace, dict], Section]] = {
    "pages": pages_scenario,
}


# --- the report ----------------------------------------------------------------------------


def machine(database_url: str, workers: int) -> list[tuple[str, str]]:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    memory = "unknown"
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal"):
            memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    system = platform.platform()
    release = Path("/etc/os-release")
    if release.exists():
        for line in release.read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                system = f"{line.split('=', 1)[1].strip(chr(34))} ({platform.release()})"
    with psycopg.connect(database_url) as conn:
        postgres = conn.execute("SHOW server_version").fetchone()[0]
    versions = subprocess.run(  # noqa: S603
        [PYTHON, "-c", "import django, gunicorn; print(django.__version__, gunicorn.__version__)"],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    return [
        ("CPU", f"{cpu}, {os.cpu_count()} logical cores"),
        ("memory", memory),
        ("OS", system),
        ("PostgreSQL", postgres),
        ("Python", platform.python_version()),
        ("Django / gunicorn", f"{versions[0]} / {versions[1]}"),
        ("gunicorn workers", f"{workers} (sync), on the same machine as PostgreSQL and the client"),
    ]


def report(*, command: str, started: datetime, machine_rows, dataset: dict, phases: str,
           sections: list[Section]) -> str:  # fmt: skip
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (`bench/run.py`); rerun it rather than editing this file. "
        "How it works: `bench/run.py`'s docstring; the dataset: "
        "`alliances/management/commands/bench_data.py`.",
        "",
        "## Latest run",
        "",
        f"- Date: {started:%Y-%m-%d %H:%M} UTC",
        f"- Command: `{command}`",
        "",
        "### Machine",
        "",
        "| | |",
        "| --- | --- |",
        *[f"| {k} | {v} |" for k, v in machine_rows],
        "",
        "### Dataset",
        "",
        f"{dataset['alliances']} alliances × {dataset['months']} monthly rounds, both sides "
        f"answering; signed in as `{dataset['login']}` (organisation `{dataset['organization']}`); "
        f"the one-pager is alliance {dataset['alliance']}.",
        "",
        "| table | rows |",
        "| --- | ---: |",
        *[f"| {label} | {count:,} |" for label, count in dataset["rows"].items()],
        "",
    ]
    lines += ["Phases of this run:", "", "```", phases, "```", ""]
    targets = [t for s in sections for t in s.targets]
    lines += [
        "### Targets",
        "",
        "| target | measured | limit | result |",
        "| --- | --- | --- | --- |",
    ]
    for t in targets:
        verdict = "PASS" if t.met else "MISS" if t.met is False else "NOT MEASURED"
        lines.append(f"| {t.what} | {t.measured} | {t.limit} | {verdict} |")
    lines.append("")
    for section in sections:
        lines += [f"### {section.title}", "", section.markdown, ""]
        if section.failures:
            lines += ["Failures:", "", *[f"- {f}" for f in section.failures], ""]
    return "\n".join(lines)


def _forgetter(redis_url: str) -> Callable[[str], None]:
    """A function that deletes one page's rendered dashboards ("one-pager", "portfolio")
    from the bench's Redis (the version tokens stay), so its next view renders afresh."""
    if not redis_url:
        return lambda page: None
    import redis

    client = redis.Redis.from_url(redis_url)

    def forget(page: str) -> None:
        keys = list(client.scan_iter(match=f"dashboards:*:page:{page}:*", count=1000))
        if keys:
            client.delete(*keys)

    return forget


# --- main -----------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)
    )
    parser.add_argument("--alliances", type=int, default=1000)
    parser.add_argument("--months", type=int, default=36)
    parser.add_argument("--requests", type=int, default=300, help="per page")
    parser.add_argument("--warmup", type=int, default=20, help="rounds before measuring")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--reuse", action="store_true", help="keep the dataset if it is there")
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/5"),
        help="Redis for the cache and sessions, as in production (emptied first); '' for none",
    )
    parser.add_argument("--scenario", action="append", choices=sorted(SCENARIOS))
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "benchmarks.md")
    options = parser.parse_args()
    if not options.database_url.startswith(("postgres://", "postgresql://")):
        parser.error("the benchmark runs on PostgreSQL: give a postgres:// --database-url")
    started = datetime.now(UTC)
    command = " ".join(["bench/run.py", *sys.argv[1:]])
    if os.environ.get("MAKELEVEL"):
        command = f"make bench  # {command}"
    env = {
        **os.environ,
        "DATABASE_URL": options.database_url,
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(40),
        "ALLOWED_HOSTS": "127.0.0.1",
        "CONCORD_BENCH_VIEWS": "1",
        "CONCORD_VAR_DIR": str(ROOT / "var" / "bench"),
        "LOG_LEVEL": "WARNING",
    }
    env.pop("REDIS_URL", None)
    env.pop("CELERY_BROKER_URL", None)
    if options.redis_url:
        import redis

        # As in production: the cache (rendered dashboards) and sessions live in Redis. Emptied
        # first, so nothing cached from an earlier dataset is served.
        redis.Redis.from_url(options.redis_url).flushdb()
        env["REDIS_URL"] = options.redis_url
    phases: list[tuple[str, float]] = []

    def timed(name: str, step: Callable[[], object]):
        began = time.perf_counter()
        log(name)
        result = step()
        phases.append((name, time.perf_counter() - began))
        return result

    generation = ""
    dataset = None
    if options.reuse:
        found = subprocess.run(  # noqa: S603
            [PYTHON, "manage.py", "bench_data", "--describe"],
            cwd=ROOT, env=env, capture_output=True, text=True,
        )  # fmt: skip
        if found.returncode == 0:
            timed("migrate", lambda: manage(env, "migrate", "--noinput", "-v0"))
            dataset = json.loads(found.stdout)
            log("reusing the dataset already in the database")
    if dataset is None:
        timed("create database", lambda: recreate_database(options.database_url))
        timed("migrate", lambda: manage(env, "migrate", "--noinput", "-v0"))
        generation = timed(
            "generate dataset",
            lambda: manage(
                env, "bench_data", "--alliances", str(options.alliances),
                "--months", str(options.months),
            ),
        )  # fmt: skip
        dataset = json.loads(manage(env, "bench_data", "--describe"))
    # As autovacuum would after a bulk load: without statistics, the planner scans whole
    # tables where an index answers in a fraction of a millisecond.
    timed("analyze", lambda: analyze(options.database_url))
    timed("collectstatic", lambda: manage(env, "collectstatic", "--noinput", "-v0"))
    server = Server(env, options.workers)
    sections = []
    try:
        timed("start gunicorn", server.wait_ready)
        timed("sign in", lambda: server.login(dataset["login"], dataset["password"]))
        for name in options.scenario or list(SCENARIOS):
            scenario = SCENARIOS[name]
            sections.append(
                timed(f"scenario {name}", lambda s=scenario: s(server, options, dataset))
            )
    finally:
        server.stop()
    timings = "\n".join(f"{name:<22} {seconds:7.1f} s" for name, seconds in phases)
    if generation:
        timings = f"{timings}\n\nmanage.py bench_data:\n{generation.strip()}"
    text = report(
        command=command,
        started=started,
        machine_rows=machine(options.database_url, options.workers),
        dataset=dataset,
        phases=timings,
        sections=sections,
    )
    options.output.parent.mkdir(parents=True, exist_ok=True)
    # The load test (bench/load.py) writes its own section of the file: keep it.
    previous = options.output.read_text() if options.output.exists() else ""
    load = LOAD_SECTION.search(previous)
    options.output.write_text(f"{text}\n\n{load.group().rstrip()}\n" if load else text + "\n")
    log(f"wrote {options.output}")
    for section in sections:
        for t in section.targets:
            verdict = "PASS" if t.met else "MISS" if t.met is False else "NOT MEASURED"
            print(f"  {verdict:<12} {t.what}: {t.measured} (limit {t.limit})")
    failures = [f for s in sections for f in s.failures]
    for failure in failures:
        print(f"  FAILED       {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
