"""The dashboard in headless Chromium (Debian's ``chromium``, driven by Python's playwright)
on the real relay, projector and api processes: the operator signs in through the form, the
test sends traffic, and the page's charts and tables show exactly that traffic, arrived
through the request log, ClickHouse's views and the SSE stream. The screenshot is kept
(its path is printed)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from infra.settings import Settings
from tests.conftest import ADMIN_TOKEN, running_stack

CHROMIUM = "/usr/bin/chromium"
OK, FAILED = 23, 4  # GET /v1/projections, and GETs of organizations that do not exist
ROUTE_OK, ROUTE_FAILED = "GET /v1/projections", "GET /v1/organizations/{organization_id}"
TIMEOUT_MS = 60_000


def browser_or_skip() -> Any:
    """playwright's sync API, or a skip naming the set-up that installs the browser; never a
    skip in CI, where `infra/dev test` installed it."""
    missing = [what for what, present in (
        ("the chromium package", os.path.exists(CHROMIUM)),
        ("the playwright package", _importable("playwright"))) if not present]
    if missing:
        reason = f"{' and '.join(missing)} missing: `infra/dev test` installs them"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    from playwright import sync_api

    return sync_api


def _importable(name: str) -> bool:
    try:
        __import__(name)
    except ImportError:
        return False
    return True


@pytest.fixture
def stack(isolated: Settings, tmp_path: Path) -> Iterator[str]:
    with running_stack(isolated, tmp_path / "stack.log", DASHBOARD_INTERVAL="1",
                       REQUEST_LOG_FLUSH_MS="100") as url:
        yield url


def send_traffic(url: str) -> None:
    auth = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    with httpx.Client(base_url=url, headers=auth, timeout=20) as client:
        for _ in range(OK):
            assert client.get("/v1/projections").status_code == 200
        for _ in range(FAILED):
            assert client.get(f"/v1/organizations/{uuid.uuid4()}").status_code == 404


def artifact(isolated: Settings, tmp_path: Path) -> Path:
    """Where the screenshot is kept: var/test-artifacts (ignored by git), else the tmp dir."""
    home = Path(isolated.data_dir) / "test-artifacts"
    try:
        home.mkdir(parents=True, exist_ok=True)
    except OSError:
        home = tmp_path
    return home / "dashboard.png"


def test_the_dashboard_draws_the_traffic_sent_in_headless_chromium(
        stack: str, isolated: Settings, tmp_path: Path) -> None:
    sync_api = browser_or_skip()
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                    args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1400})
            errors: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(f"{stack}/dashboard")
            assert page.url.endswith("/dashboard/login")  # not signed in: the form
            page.fill("#operator-login input[name=token]", ADMIN_TOKEN)
            page.click("#operator-login button")
            page.wait_for_url(f"{stack}/dashboard")
            page.wait_for_selector("main[data-ticks='1'], main[data-ticks='2'], #status[data-state=live]")
            send_traffic(stack)
            ok = page.locator(f"#endpoints-table tr[data-endpoint='{ROUTE_OK}']")
            sync_api.expect(ok).to_have_attribute("data-requests", str(OK), timeout=TIMEOUT_MS)
            failed = page.locator(f"#errors-table tr[data-endpoint='{ROUTE_FAILED}']")
            sync_api.expect(failed).to_have_attribute("data-errors", str(FAILED),
                                                      timeout=TIMEOUT_MS)
            assert int(page.get_attribute("#total-requests", "data-value") or 0) >= OK + FAILED
            assert int(page.get_attribute("#total-errors", "data-value") or 0) >= FAILED
            for chart in ("traffic-chart", "latency-chart", "errors-chart"):
                assert int(page.get_attribute(f"#{chart}", "data-points") or 0) > 0, chart
                assert drawn_pixels(page, chart) > 100, chart
            shot = artifact(isolated, tmp_path)
            page.screenshot(path=str(shot), full_page=True)
            print(f"dashboard screenshot: {shot}")
            assert not errors, errors
        finally:
            browser.close()
    assert shot.stat().st_size > 10_000


def drawn_pixels(page: Any, canvas_id: str) -> int:
    """How many of the canvas's pixels are painted (not transparent)."""
    return int(page.evaluate("""(id) => {
        const c = document.getElementById(id);
        const data = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        for (let i = 3; i < data.length; i += 4) if (data[i] > 0) n += 1;
        return n;
    }""", canvas_id))
