"""Fuzz every operation of /schema/openapi.json on a live server with schemathesis (v4).

For each operation, Hypothesis draws schema-valid (positive) and schema-breaking (negative)
requests; each is sent once per bearer token (admin and a rep by default) and its answer checked
(then a deterministic probe: integer query parameters without a maximum get values past int64):

- `not_a_server_error`: no 5xx, ever;
- `response_schema_conformance` and `content_type_conformance`: a documented status code must
  come with the documented media type and a body matching the documented schema.
  (`status_code_conformance`, an answer with an undocumented status, is counted for information:
  Litestar documents only the statuses a handler declares, and 401/403/404/429 are everywhere.)

Without --url it seeds the small demo company into a temp SQLite file and starts its own server
(`python -m server run --skip-prepare --no-scheduler`, see server_env()), stopped at the end.
With --url, start that server with VAPID keys and high LOGIN_MAX_PER_IP/LOGIN_MAX_PER_ACCOUNT. Bounded by
--examples/--negative per operation and by --budget-s overall.

    .venv/bin/python -m bench.fuzz                           # 25 + 10 examples per operation
    .venv/bin/python -m bench.fuzz --examples 5 --negative 3 --json var/fuzz.json
    .venv/bin/python -m bench.fuzz --url http://127.0.0.1:8000 --logins admin,rep1
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_LOGINS = ("admin", "rep1")


@dataclass
class Finding:
    operation: str
    login: str
    mode: str
    check: str
    status: int
    request: str  # a curl command reproducing it
    response: str

    def line(self) -> str:
        return f"[{self.check}] {self.operation} as {self.login} ({self.mode}) -> {self.status}"


@dataclass
class FuzzReport:
    operations: int = 0
    cases: int = 0  # generated requests
    requests: int = 0  # sent (cases x tokens)
    statuses: Counter[int] = field(default_factory=Counter)
    findings: list[Finding] = field(default_factory=list)  # 5xx and schema violations
    undocumented: Counter[str] = field(default_factory=Counter)  # "OP -> status", informational
    errors: list[str] = field(default_factory=list)  # transport errors, generation errors
    seconds: float = 0.0
    skipped_operations: list[str] = field(default_factory=list)  # budget exhausted

    @property
    def server_errors(self) -> list[Finding]:
        return [f for f in self.findings if f.check == "not_a_server_error"]

    @property
    def schema_violations(self) -> list[Finding]:
        return [f for f in self.findings if f.check != "not_a_server_error"]

    def summary(self, details: int = 50) -> str:
        lines = [
            f"fuzz: {self.operations} operations, {self.cases} cases, {self.requests} requests "
            f"in {self.seconds:.0f} s; statuses {dict(sorted(self.statuses.items()))}",
            f"  server errors: {len(self.server_errors)}; schema violations: {len(self.schema_violations)}; "
            f"transport/generation errors: {len(self.errors)}; operations skipped (budget): "
            f"{len(self.skipped_operations)}",
        ]
        seen: set[tuple[str, str, int]] = set()
        for finding in self.findings:
            key = (finding.check, finding.operation, finding.status)
            if key in seen or len(seen) >= details:
                continue
            seen.add(key)
            lines += [f"  {finding.line()}", f"    {finding.request}", f"    <- {finding.response[:600]}"]
        if self.undocumented:
            top = ", ".join(f"{k} x{n}" for k, n in self.undocumented.most_common(12))
            lines.append(f"  (info) undocumented statuses: {top}")
        lines += [f"  error: {e}" for e in self.errors[:10]]
        return "\n".join(lines)

    def as_json(self) -> dict[str, Any]:
        return {
            "operations": self.operations,
            "cases": self.cases,
            "requests": self.requests,
            "seconds": round(self.seconds, 1),
            "statuses": {str(k): v for k, v in self.statuses.items()},
            "findings": [f.__dict__ for f in self.findings],
            "undocumented": dict(self.undocumented),
            "errors": self.errors,
            "skipped_operations": self.skipped_operations,
        }


def fuzz(
    base_url: str,
    tokens: dict[str, str],
    *,
    examples: int = 25,
    negative: int = 10,
    budget_s: float = 600,
    request_timeout_s: float = 15,
    seed: int = 0,
) -> FuzzReport:
    """Fuzz every operation; `tokens` is {login: "Bearer ..."}. Never raises on findings."""
    import requests
    import schemathesis
    from schemathesis import GenerationMode
    from schemathesis.checks import not_a_server_error
    from schemathesis.core.failures import FailureGroup
    from schemathesis.core.transport import expand_status_codes
    from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

    warnings.filterwarnings("ignore", module="hypothesis")
    report = FuzzReport()
    started = time.monotonic()
    schema = schemathesis.openapi.from_url(f"{base_url}/schema/openapi.json", timeout=30)
    checks = [not_a_server_error, response_schema_conformance, content_type_conformance]
    session = requests.Session()
    operations = []
    for result in schema.get_all_operations():
        try:
            operations.append(result.ok())
        except Exception as exc:  # an operation schemathesis cannot read is a finding too
            report.errors.append(f"schema: {exc}")
    report.operations = len(operations)

    def check_one(case: Any, login: str, mode: str) -> None:
        label = case.operation.label
        headers = {"Authorization": tokens[login]}
        try:
            response = case.call(
                base_url=base_url, session=session, headers=headers, timeout=request_timeout_s
            )
        except Exception as exc:
            report.errors.append(f"{label} as {login}: {type(exc).__name__}: {str(exc)[:300]}")
            return
        report.requests += 1
        report.statuses[response.status_code] += 1
        try:
            case.validate_response(response, checks=checks, headers=headers)
        except FailureGroup as group:
            for failure in group.exceptions:
                report.findings.append(
                    Finding(
                        operation=label,
                        login=login,
                        mode=mode,
                        check=_check_name(failure, response.status_code),
                        status=response.status_code,
                        request=case.as_curl_command(headers=headers),
                        response=" ".join(
                            f"{failure.title}: {str(failure.message)[:300]} | body: "
                            f"{response.content[:400].decode(errors='replace')}".split()
                        ),
                    )
                )
        except Exception as exc:
            report.errors.append(f"{label} validation: {type(exc).__name__}: {str(exc)[:300]}")
        documented = case.operation.responses.status_codes
        if "default" not in documented and response.status_code not in expand_status_codes(documented):
            report.undocumented[f"{label} -> {response.status_code}"] += 1

    for operation in operations:
        for mode, count in ((GenerationMode.POSITIVE, examples), (GenerationMode.NEGATIVE, negative)):
            if count <= 0:
                continue
            if time.monotonic() - started > budget_s:
                report.skipped_operations.append(f"{operation.label} ({mode.value})")
                continue
            try:
                strategy = operation.as_strategy(generation_mode=mode)
            except Exception as exc:
                report.errors.append(f"{operation.label} {mode.value} strategy: {exc}")
                continue

            run = _runner(strategy, count, mode.value, check_one, report, tokens)
            try:
                run()
            except Exception as exc:  # e.g. Hypothesis found no valid negative example
                if "Unsatisfiable" not in type(exc).__name__:
                    report.errors.append(f"{operation.label} {mode}: {type(exc).__name__}: {str(exc)[:300]}")
    probe_integer_edges(base_url, tokens, report, session, request_timeout_s)
    report.seconds = time.monotonic() - started
    return report


EDGES = (2**63, 2**64)  # past int64: what the database's integers and LIMIT/OFFSET hold


def probe_integer_edges(
    base_url: str, tokens: dict[str, str], report: FuzzReport, session: Any, timeout_s: float
) -> None:
    """Deterministic edge cases random generation rarely draws: every integer query parameter
    without a documented maximum gets values past int64, alone, on every GET without path
    parameters. (Schema-valid: such a value must be a 4xx or a normal answer, never a 5xx.)"""
    spec = session.get(f"{base_url}/schema/openapi.json", timeout=timeout_s).json()
    for path, item in spec.get("paths", {}).items():
        get_op = item.get("get")
        if not get_op or "{" in path:
            continue
        for parameter in get_op.get("parameters", []):
            schema = parameter.get("schema", {})
            types = schema.get("type")
            if parameter.get("in") != "query" or "integer" not in (
                types if isinstance(types, list) else [types]
            ):
                continue
            if "maximum" in schema:
                continue
            for value in EDGES:
                for login, token in tokens.items():
                    url = f"{base_url}{path}?{parameter['name']}={value}"
                    try:
                        response = session.get(url, headers={"Authorization": token}, timeout=timeout_s)
                    except Exception as exc:
                        report.errors.append(f"GET {url}: {type(exc).__name__}")
                        continue
                    report.cases += 1
                    report.requests += 1
                    report.statuses[response.status_code] += 1
                    if response.status_code >= 500:
                        report.findings.append(
                            Finding(
                                operation=f"GET {path}",
                                login=login,
                                mode="edge",
                                check="not_a_server_error",
                                status=response.status_code,
                                request=f"curl -H 'Authorization: [Filtered]' '{url}'",
                                response=response.text[:400],
                            )
                        )


def _runner(
    strategy: Any, count: int, mode: str, check_one: Any, report: FuzzReport, tokens: dict[str, str]
) -> Any:
    from hypothesis import HealthCheck, Phase, Verbosity, given, settings

    @settings(
        max_examples=count,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        verbosity=Verbosity.quiet,
    )
    @given(case=strategy)
    def run(case: Any) -> None:
        report.cases += 1
        for login in tokens:
            check_one(case, login, mode)

    return run


def _check_name(failure: Any, status: int) -> str:
    name = type(failure).__name__
    if name == "ServerError" or status >= 500:
        return "not_a_server_error"
    if name in ("UndefinedContentType", "MissingContentType", "MalformedMediaType"):
        return "content_type_conformance"
    return "response_schema_conformance"


CONFIG = Path(__file__).with_name("schemathesis.toml")


def run_all_checks(
    base_url: str,
    token: str,
    *,
    max_examples: int = 10,
    seed: int = 1,
    phases: str = "examples,coverage,fuzzing,stateful",
    max_time_s: int = 300,
    report: Path | None = None,
) -> tuple[int, str]:
    """`schemathesis run --checks all` as one caller; returns (exit code, the run's output).

    Every built-in check runs (server errors, status codes, content types, response schemas and
    headers, positive/negative data, missing headers, unsupported methods, Allow headers,
    use-after-free, resource availability, ignored auth); bench/schemathesis.toml says why a
    schema-valid request may be answered 422.
    """
    import subprocess

    command = [
        str(Path(sys.executable).with_name("schemathesis")), "--config-file", str(CONFIG), "run",
        f"{base_url}/schema/openapi.json", "--checks", "all", "-H", f"Authorization: {token}",
        "--max-examples", str(max_examples), "--phases", phases, "--workers", "1", "--seed", str(seed),
        "--generation-database", "none", "--suppress-health-check", "all", "--no-color",
        "--request-timeout", "30",
    ]  # fmt: skip
    if report is not None:
        command += ["--report", "junit", "--report-junit-path", str(report)]
    # schemathesis keeps a crash cache in ./.schemathesis: run it outside the repository.
    workdir = report.parent if report is not None else Path(tempfile.gettempdir())
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=max_time_s + 120, check=False, cwd=workdir
    )
    return done.returncode, done.stdout + done.stderr


def server_env() -> dict[str, str]:
    """Environment for a server to fuzz: Web Push configured (else the VAPID key endpoint is a
    deliberate 503) and login rate limits out of the way (the fuzzer's wrong passwords would
    otherwise lock the fuzzer's own sign-ins out with 429s)."""
    from server.services.notifications.vapid import generate_vapid_env

    pairs = (line.split("=", 1) for line in generate_vapid_env().splitlines() if "=" in line)
    vapid = {key.strip(): value.strip() for key, value in pairs}
    return {"LOGIN_MAX_PER_IP": "1000000", "LOGIN_MAX_PER_ACCOUNT": "1000000", **vapid}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", help="A running server (default: start one on a seeded SQLite file)")
    parser.add_argument("--logins", default=",".join(DEFAULT_LOGINS), help="demo logins to fuzz as")
    parser.add_argument("--examples", type=int, default=25, help="positive cases per operation")
    parser.add_argument("--negative", type=int, default=10, help="negative cases per operation")
    parser.add_argument("--budget-s", type=float, default=900, help="stop starting operations after this")
    parser.add_argument("--json", help="write the report here")
    args = parser.parse_args(argv)

    from tests.resilience.support import AppProcess, bearer_tokens, seed_demo

    app = None
    workdir = None
    base_url = args.url
    try:
        if base_url is None:
            workdir = Path(tempfile.mkdtemp(prefix="fieldsales-fuzz-"))
            url = f"sqlite+aiosqlite:///{workdir / 'fieldsales.db'}"
            print(f"seeding the small demo company into {workdir} ...", flush=True)
            seed_demo(url, workdir)
            app = AppProcess(url, workdir, name="fuzz-app", extra_env=server_env()).start()
            app.wait_ready(path="/readyz")
            base_url = app.url
        tokens = bearer_tokens(base_url, args.logins.split(","))
        report = fuzz(
            base_url, tokens, examples=args.examples, negative=args.negative, budget_s=args.budget_s
        )
        all_checks_failed = []
        for login, token in tokens.items():  # then every schemathesis check, phase by phase
            code, output = run_all_checks(base_url, token, max_examples=args.examples)
            print(f"schemathesis --checks all as {login}:\n{output[output.rfind('SUMMARY') :]}")
            if code != 0:
                all_checks_failed.append(login)
    finally:
        if app is not None:
            app.stop()
    if workdir is not None:
        if report.server_errors:  # keep the server log: it has the tracebacks
            print(f"server log with the tracebacks: {workdir / 'fuzz-app.log'}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    if args.json:
        Path(args.json).write_text(json.dumps(report.as_json(), indent=2, default=str))
    print(report.summary())
    return 1 if report.findings or all_checks_failed else 0


if __name__ == "__main__":
    sys.exit(main())
