"""A rep's day offline: what Today weighs with 12 stops stored for offline visits, and how long a
tap on a stop's "Check in" takes to show its visit form with no network (issue 17).

Not a test (timings move with machine load); run it by hand:

    .venv/bin/python -m bench.bench_rep_offline [--runs 12]

It seeds a small demo into a temporary SQLite file, starts the server on a free port, gives rep1
a capacity of 12 stops, signs in through the login form in Debian's Chromium (360 px phone,
Shanghai time), lets the service worker take control and Today store its stops, then:

- page weight: Today's HTML as served (raw and gzip -9) and the part of it that is the stored
  stop data (data-stops), plus the page's scripts and stylesheet (gzip), i.e. a cold load;
- tap to visit form offline: with the network off, for every stop in turn, the time from the tap
  on "Check in" (a boosted navigation the service worker answers with the check-in shell) to
  the form filled from IndexedDB (`[data-checkin][data-ready]`), measured inside the page.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

from tests.e2e.support import CHROMIUM, CHROMIUM_ARGS, LiveServer, free_port, server_env, sign_in, wait_until

STOPS = 12
TAP_TO_FORM = """async (taskId) => {
  const ready = new Promise((resolve) => {
    const seen = () => document.querySelector("[data-checkin][data-ready='true']");
    const observer = new MutationObserver(() => { if (seen()) { observer.disconnect(); resolve(performance.now()); } });
    observer.observe(document.documentElement, { subtree: true, childList: true, attributes: true });
  });
  const link = document.querySelector(`[data-task-card][data-task-id='${taskId}'] [data-checkin-link]`);
  const tapped = performance.now();
  link.click();
  return (await ready) - tapped;
}"""


def gz(data: bytes) -> int:
    return len(gzip.compress(data, compresslevel=9))


def start(workdir: Path) -> LiveServer:
    db_path, port = workdir / "fieldsales.db", free_port()
    env = server_env(db_path, port)
    seed = ["seed-demo", "--reps", "4", "--customers", "80", "--months", "3"]
    subprocess.run(
        [sys.executable, "-m", "server", *seed], cwd=workdir, env=env, check=True, capture_output=True
    )
    connection = sqlite3.connect(db_path)
    connection.execute("UPDATE users SET daily_capacity = ? WHERE email = 'rep1@demo.example'", (STOPS,))
    connection.commit()
    connection.close()
    log = (workdir / "server.log").open("wb")
    command = [sys.executable, "-m", "server", "run", "--skip-prepare", "--port", str(port), "--no-scheduler"]
    process = subprocess.Popen(command, cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT)
    server = LiveServer(f"http://127.0.0.1:{port}", db_path, workdir / "server.log", process)
    server.wait_healthy()
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--runs", type=int, default=STOPS, help="offline taps to time (cycling over the stops)"
    )
    args = parser.parse_args()
    from playwright.sync_api import expect, sync_playwright

    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as playwright:
        server = start(Path(tmp))
        try:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            phone = {"width": 360, "height": 740}
            context = browser.new_context(
                base_url=server.url,
                viewport=phone,
                is_mobile=True,
                has_touch=True,
                timezone_id="Asia/Shanghai",
            )
            page = context.new_page()
            sign_in(page, "rep1")
            anyway = page.get_by_role("button", name="Plan my day anyway")
            if anyway.count():
                anyway.click()
            wait_until(page, "async () => (await navigator.serviceWorker.ready).active.state === 'activated'")
            page.reload()
            wait_until(page, "async () => document.getElementById('task-list')?.dataset.stored === 'true'")
            cookie = "; ".join(f"{c['name']}={c['value']}" for c in context.cookies())
            request = urllib.request.Request(server.url + "/", headers={"Cookie": cookie})
            with urllib.request.urlopen(request) as response:
                html = response.read()
            stops_json = re.search(rb"data-stops='([^']*)'", html)
            stops = json.loads(stops_json.group(1).decode().replace("&#34;", '"')) if stops_json else []
            assets = re.findall(rb'(?:src|href)="(/static/[^"]+\.(?:js|css)\?v=[^"]+)"', html)
            asset_bytes = [urllib.request.urlopen(server.url + url.decode()).read() for url in set(assets)]
            stored = page.evaluate(
                "async () => JSON.stringify(await window.FieldsalesOutboxCore.stops()).length"
            )

            page.context.set_offline(True)
            task_ids = [s["task_id"] for s in stops]
            timings = []
            for run in range(args.runs):
                expect(page.locator("#task-list")).to_be_visible()
                timings.append(page.evaluate(TAP_TO_FORM, task_ids[run % len(task_ids)]))
                page.go_back()
            browser.close()
        finally:
            server.stop()
    print(f"Today with {len(stops)} stops stored for offline visits (rep1, 360 px, Chromium)")
    print(f"  HTML: {len(html) / 1024:.1f} KB raw, {gz(html) / 1024:.1f} KB gzip")
    data = stops_json.group(0) if stops_json else b""
    print(f"  of which the stop data: {len(data) / 1024:.1f} KB raw, {gz(data) / 1024:.1f} KB gzip")
    print(
        f"  scripts and stylesheet ({len(asset_bytes)} files): {sum(gz(a) for a in asset_bytes) / 1024:.1f} KB gzip"
    )
    print(
        f"  cold total (HTML + scripts + css): {(gz(html) + sum(gz(a) for a in asset_bytes)) / 1024:.1f} KB gzip"
    )
    print(f"  IndexedDB stops: {stored / 1024:.1f} KB (JSON)")
    ordered = sorted(timings)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    print(
        f"Tap on Check in -> visit form, offline ({len(timings)} taps): "
        f"median {statistics.median(timings):.0f} ms, p95 {p95:.0f} ms, max {max(timings):.0f} ms"
    )


if __name__ == "__main__":
    main()
