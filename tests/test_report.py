"""The sign-off report of a run with failures, looked at in headless Chromium (Debian's package): the summary and
a failure's evidence are visible, the page logs no error, and a screenshot and a PDF print are kept under
reports/signoff/ for a person to look at."""

from __future__ import annotations

import importlib
import os
import shutil
from pathlib import Path

import pytest
from repo import REPO

from healstack.db import connect

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
OUT = REPO / "reports" / "signoff"

# CI installs both (.ci/run, the test dependencies): there, their absence fails instead of skipping
playwright = pytest.importorskip("playwright.sync_api") if not os.environ.get("CI") else \
    importlib.import_module("playwright.sync_api")
needs_chromium = pytest.mark.skipif(not Path(CHROMIUM).exists() and not os.environ.get("CI"),
                                    reason="Debian's chromium is not installed (.ci/run installs it)")


def _defects(dsn: str) -> None:
    with connect(dsn, autocommit=True) as conn:
        conn.execute("drop index public.idx_metrics_day")
        conn.execute("alter table public.orders no force row level security")
        conn.execute("insert into public.spend (project, platform, account_id, campaign_id, dt, spend)"
                     " values ('p', 'meta', 'a1', 'c1', current_date, 2000000)")
        conn.execute("create table public.leaky (id int primary key)")


@needs_chromium
def test_the_report_of_a_failing_run_reads_in_chromium(guardrails, migrated_db):
    _defects(migrated_db)
    result, _ = guardrails.run("-m", "apply or parity or lints or dq")
    assert result.ret == 1
    report = guardrails.last_run / "index.html"
    OUT.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--disable-gpu", "--no-first-run",
                                                                    "--disable-background-networking"])
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.on("console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None)
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.on("request", lambda r: problems.append(f"network: {r.url}") if not r.url.startswith("file:")
                    else None)
            page.goto(report.as_uri())
            assert page.locator("#verdict").inner_text() == "FAILED"
            summary = page.locator("table.summary")
            assert summary.is_visible() and "parity" in summary.inner_text()
            drift = page.locator(".card", has_text="HS301").first
            assert drift.is_visible()
            assert "create index if not exists idx_metrics_day" in drift.inner_text()  # the delta that mends it
            rule = page.locator(".card", has_text="spend.amount_plausible").first
            assert rule.is_visible() and "spend.toml:" in rule.inner_text()  # where the rule was declared
            assert page.locator("#signoff").is_visible()
            page.screenshot(path=str(OUT / "report.png"), full_page=False)
            page.pdf(path=str(OUT / "report.pdf"), format="A4", print_background=True)
        finally:
            browser.close()
    assert problems == []
    assert (OUT / "report.pdf").stat().st_size > 10_000
