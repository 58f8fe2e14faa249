"""Lighthouse budget: the sign-in page and the rep's home page (Today), mobile emulation.

Goals: performance >= 95, accessibility 100, best practices >= 95, and the rep home page's
cold transfer size (all requests, compressed, Lighthouse's `total-byte-weight`) <= 60 KB.

Not a test (scores move with machine load); run it by hand:

    npm install --prefix /tmp/lh lighthouse        # once (or into bench/node_modules, gitignored)
    .venv/bin/python -m bench.lighthouse            # starts its own seeded server on a free port
    .venv/bin/python -m bench.lighthouse --url http://127.0.0.1:8000 --runs 3 --check

Lighthouse drives Debian's Chromium (CHROME_PATH=/usr/bin/chromium); never `playwright install`.
The rep is signed in through the real login form; the session cookie is passed to Lighthouse
with `--extra-headers` (a Cookie header), so the audited load is cold (empty cache, no worker)
yet signed in. JSON reports go to test-artifacts/lighthouse/ (gitignored).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "test-artifacts" / "lighthouse"
CHROME = os.environ.get("CHROME_PATH", "/usr/bin/chromium")
CHROME_FLAGS = (
    "--headless --no-sandbox --disable-gpu --disable-background-networking --disable-component-update "
    "--disable-sync --no-first-run --disable-quic"
)
LIGHTHOUSE_CANDIDATES = (
    ROOT / "bench" / "node_modules" / ".bin" / "lighthouse",
    Path("/tmp/lh/node_modules/.bin/lighthouse"),
)
SESSION_COOKIE = "fs_session"
DEMO_PASSWORD = "fieldsales-demo"
CATEGORIES = ("performance", "accessibility", "best-practices")
GOALS = {"performance": 95, "accessibility": 100, "best-practices": 95}
TRANSFER_GOAL_BYTES = 60_000  # 60 KB, decimal as Lighthouse reports it


# ---- A server to audit (unless --url is given) ----


class Server:
    """A fresh SQLite database, seeded, served by `python -m server run` on a free port."""

    def __init__(self, reps: int, customers: int, months: int) -> None:
        self.workdir = Path(tempfile.mkdtemp(prefix="fs-lighthouse-"))
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "DATABASE_URL": f"sqlite+aiosqlite:///{self.workdir / 'fieldsales.db'}",
            "SECRET_KEY": "lighthouse-bench-secret",
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            "SCHEDULER": "false",
            "COOKIE_SECURE": "false",
            "PYTHONPATH": str(ROOT),
        }
        self.seed_args = ["--reps", str(reps), "--customers", str(customers), "--months", str(months)]
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Server:
        print(f"seeding a demo company into {self.workdir} ...", file=sys.stderr)
        subprocess.run(
            [sys.executable, "-m", "server", "seed-demo", *self.seed_args],
            cwd=self.workdir, env=self.env, check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        self.log = (self.workdir / "server.log").open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "server", "run", "--skip-prepare", "--no-scheduler", "--port", str(self.port)],
            cwd=self.workdir, env=self.env, stdout=self.log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"the server exited; see {self.workdir / 'server.log'}")
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=2):
                    return self
            except (urllib.error.URLError, OSError):
                time.sleep(0.2)
        raise SystemExit("the server did not become healthy within 120 s")

    def __exit__(self, *exc: object) -> None:
        if self.process:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.log.close()
        shutil.rmtree(self.workdir, ignore_errors=True)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def session_cookie(base_url: str, login: str) -> str:
    """Sign in through the login form (as the browser does) and return `fs_session=<token>`."""
    body = urllib.parse.urlencode(
        {"email": f"{login}@demo.example", "password": DEMO_PASSWORD, "next": "/"}
    ).encode()
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        response = opener.open(
            urllib.request.Request(base_url + "/login", data=body, method="POST"), timeout=30
        )
        headers = response.headers
    except urllib.error.HTTPError as redirect:  # the 303 arrives as an "error" without redirects
        if redirect.code != 303:
            raise SystemExit(f"signing in as {login} failed: HTTP {redirect.code}") from None
        headers = redirect.headers
    for value in headers.get_all("Set-Cookie") or []:
        pair = value.split(";", 1)[0]
        if pair.startswith(SESSION_COOKIE + "="):
            return pair
    raise SystemExit(f"signing in as {login} set no {SESSION_COOKIE} cookie")


# ---- Lighthouse ----


def find_lighthouse(explicit: str | None) -> str:
    for candidate in (
        explicit,
        os.environ.get("LIGHTHOUSE"),
        *LIGHTHOUSE_CANDIDATES,
        shutil.which("lighthouse"),
    ):
        if candidate and Path(candidate).is_file():
            return str(candidate)
    raise SystemExit(
        "Lighthouse not found. Install it with `npm install --prefix /tmp/lh lighthouse` "
        "(or into bench/node_modules), or pass --lighthouse PATH."
    )


@dataclass
class Result:
    page: str
    url: str
    scores: dict[str, float]
    transfer_bytes: float
    metrics: dict[str, str]
    problems: list[str] = field(default_factory=list)
    resources: list[tuple[str, int]] = field(default_factory=list)


def run_lighthouse(lighthouse: str, name: str, url: str, headers: dict[str, str], run: int) -> dict[str, Any]:
    OUT.mkdir(parents=True, exist_ok=True)
    report = OUT / f"{name}-{run}.json"
    command = [
        lighthouse,
        url,
        "--output=json",
        f"--output-path={report}",
        "--quiet",
        "--form-factor=mobile",
        "--only-categories=" + ",".join(CATEGORIES),
        f"--chrome-flags={CHROME_FLAGS}",
    ]
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as extra:
        json.dump(headers, extra)  # a file, so the session token is not on a command line
    if headers:
        command.append(f"--extra-headers={extra.name}")
    try:
        subprocess.run(command, env={**os.environ, "CHROME_PATH": CHROME}, check=True, timeout=300)
    finally:
        os.unlink(extra.name)
    return json.loads(report.read_text())


# Diagnostics worth naming when performance is short of its goal (they carry no weight themselves).
PERFORMANCE_HINTS = ("layout-shifts", "render-blocking-resources", "unused-css-rules", "unused-javascript")


def problems_of(report: dict[str, Any]) -> list[str]:
    """Audits that cost points (and performance hints), with the elements or URLs to blame."""
    found = []
    audits = report["audits"]
    for category in CATEGORIES:
        for ref in report["categories"][category]["auditRefs"]:
            audit = audits[ref["id"]]
            score = audit.get("score")
            weighted = ref.get("weight", 0) > 0
            hint = category == "performance" and ref["id"] in PERFORMANCE_HINTS
            if score is None or score >= 1 or not (weighted or hint):
                continue
            blamed = []
            for item in ((audit.get("details") or {}).get("items") or [])[:4]:
                node = item.get("node") or {}
                where = node.get("selector") or item.get("url") or ""
                if where:
                    blamed.append(str(where)[:90])
            label = audit.get("displayValue") or f"score {score:.2f}"
            found.append(f"{category}: {ref['id']} ({label})" + (f" — {', '.join(blamed)}" if blamed else ""))
    return found


def summarise(name: str, url: str, reports: list[dict[str, Any]]) -> Result:
    def median(values: list[float]) -> float:
        return float(statistics.median(values))

    scores = {c: median([r["categories"][c]["score"] * 100 for r in reports]) for c in CATEGORIES}
    transfer = median([r["audits"]["total-byte-weight"]["numericValue"] for r in reports])
    last = reports[-1]
    metrics = {
        key: last["audits"][audit]["displayValue"]
        for key, audit in (
            ("FCP", "first-contentful-paint"),
            ("LCP", "largest-contentful-paint"),
            ("TBT", "total-blocking-time"),
            ("CLS", "cumulative-layout-shift"),
        )
    }
    resources = []
    for item in last["audits"]["network-requests"]["details"]["items"]:
        parts = urllib.parse.urlsplit(item["url"])
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        resources.append((path, int(item.get("transferSize") or 0)))
    return Result(name, url, scores, transfer, metrics, problems_of(last), resources)


def print_table(results: list[Result], runs: int) -> bool:
    print(f"\nLighthouse {LIGHTHOUSE_VERSION[0]}, mobile emulation, median of {runs} run(s)\n")
    head = f"{'page':<10} {'perf':>5} {'a11y':>5} {'b.p.':>5} {'transfer':>10}   FCP     LCP     TBT      CLS"
    print(head)
    print("-" * len(head))
    for r in results:
        s = r.scores
        m = r.metrics
        print(
            f"{r.page:<10} {s['performance']:>5.0f} {s['accessibility']:>5.0f} {s['best-practices']:>5.0f} "
            f"{r.transfer_bytes / 1000:>7.1f} KB   {m['FCP']:<7} {m['LCP']:<7} {m['TBT']:<8} {m['CLS']}"
        )
    print(
        f"\ngoals: performance >= {GOALS['performance']}, accessibility {GOALS['accessibility']}, "
        f"best practices >= {GOALS['best-practices']}, rep home transfer <= {TRANSFER_GOAL_BYTES / 1000:.0f} KB"
    )
    ok = True
    for r in results:
        misses = [f"{c} {r.scores[c]:.0f} < {goal}" for c, goal in GOALS.items() if r.scores[c] < goal]
        if r.page == "rep-home" and r.transfer_bytes > TRANSFER_GOAL_BYTES:
            misses.append(f"transfer {r.transfer_bytes / 1000:.1f} KB > {TRANSFER_GOAL_BYTES / 1000:.0f} KB")
        ok = ok and not misses
        print(f"  {r.page}: " + ("all goals met" if not misses else "MISSED: " + "; ".join(misses)))
        for problem in r.problems:
            print(f"      - {problem}")
    home = next((r for r in results if r.page == "rep-home"), None)
    if home:
        print("\nrep home, cold load, transfer size per request:")
        for path, size in sorted(home.resources, key=lambda item: -item[1]):
            print(f"  {size / 1000:>6.1f} KB  {path}")
    print(f"\nJSON reports: {OUT}")
    return ok


LIGHTHOUSE_VERSION = ["?"]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", help="audit a running server (default: start a fresh seeded one)")
    parser.add_argument("--login", default="rep1", help="the rep whose home page is audited")
    parser.add_argument("--runs", type=int, default=1, help="runs per page; the median is reported")
    parser.add_argument("--lighthouse", help="path to the lighthouse CLI")
    parser.add_argument("--check", action="store_true", help="exit 1 when a goal is missed")
    parser.add_argument("--reps", type=int, default=8)
    parser.add_argument("--customers", type=int, default=120)
    parser.add_argument("--months", type=int, default=3)
    args = parser.parse_args()

    lighthouse = find_lighthouse(args.lighthouse)
    LIGHTHOUSE_VERSION[0] = subprocess.run(
        [lighthouse, "--version"], capture_output=True, text=True, check=False
    ).stdout.strip()
    if not Path(CHROME).is_file():
        raise SystemExit(f"no Chromium at {CHROME}: apt-get install -y chromium (or set CHROME_PATH)")

    def audit(base: str) -> list[Result]:
        cookie = session_cookie(base, args.login)
        pages = [("login", base + "/login", {}), ("rep-home", base + "/", {"Cookie": cookie})]
        results = []
        for name, url, headers in pages:
            reports = []
            for run in range(1, args.runs + 1):
                print(f"lighthouse {name} run {run}/{args.runs}: {url}", file=sys.stderr)
                report = run_lighthouse(lighthouse, name, url, headers, run)
                final = report.get("finalDisplayedUrl") or report.get("finalUrl")
                if name == "rep-home" and final.rstrip("/") != url.rstrip("/"):
                    raise SystemExit(f"the rep home page redirected to {final}: was the cookie refused?")
                reports.append(report)
            results.append(summarise(name, url, reports))
        return results

    if args.url:
        results = audit(args.url.rstrip("/"))
    else:
        with Server(args.reps, args.customers, args.months) as server:
            results = audit(server.url)
    ok = print_table(results, args.runs)
    if args.check and not ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
