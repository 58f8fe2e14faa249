"""Fuzzing: schemathesis with every check (`--checks all`) over /schema/openapi.json, on a live
server with the seeded company, on SQLite and on PostgreSQL, as admin and as a rep.

Phases: the schema's examples, the coverage phase (boundary values, missing and malformed
parameters, unsupported methods, missing auth), random positive and negative requests, and the
stateful phase (links inferred between operations). Asserted: schemathesis exits 0, that is no 5xx,
no answer outside the documented statuses, media types, bodies and headers, no schema-valid
request refused with 400 and no schema-violating request accepted; and the caller's token
still works after the run (so no part of the run met only 401s). Web Push is configured (else
its key endpoint is a deliberate 503) and the login throttle is out of the way (the fuzzer's
wrong passwords would otherwise throttle its own sign-ins).

Bounded: FUZZ_EXAMPLES cases per operation and phase (default 6) and FUZZ_MAX_TIME_S per run.
"""

from __future__ import annotations

import os
import urllib.request
from pathlib import Path

import pytest

from bench.fuzz import run_all_checks, server_env
from tests.resilience.support import AppProcess, bearer_tokens

pytestmark = pytest.mark.resilience

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "6"))
MAX_TIME_S = int(os.environ.get("FUZZ_MAX_TIME_S", "150"))


@pytest.fixture(params=["sqlite", "postgresql"])
def fuzz_db(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue("sqlite_db" if request.param == "sqlite" else "pg_db"))


@pytest.mark.parametrize("login", ["admin", "rep1"])
def test_schemathesis_all_checks_pass(fuzz_db: str, tmp_path: Path, login: str) -> None:
    app = AppProcess(fuzz_db, tmp_path, name="fuzz-app", extra_env=server_env()).start()
    try:
        app.wait_ready(path="/readyz")
        token = bearer_tokens(app.url, (login,))[login]
        code, output = run_all_checks(
            app.url, token, max_examples=EXAMPLES, max_time_s=MAX_TIME_S, report=tmp_path / "junit.xml"
        )
        assert app.alive(), app.log_tail()
        # The fuzzer's own token still works at the end: had a fuzzed call ended it (an admin's
        # reset of their own password once did), the rest of the run would have met only 401s.
        me = urllib.request.Request(f"{app.url}/api/v1/me", headers={"Authorization": token})
        with urllib.request.urlopen(me, timeout=30) as response:
            assert response.status == 200
    finally:
        app.stop()
    summary = output[output.rfind("SUMMARY") :] if "SUMMARY" in output else output[-3000:]
    print(f"\nschemathesis as {login}:\n{summary}")
    assert "Tested: " in output, output[-3000:]
    assert code == 0, output[-12000:]
