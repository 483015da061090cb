"""Runs healstack's guardrails (healstack.checks) in a pytester project pointing at a test database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from repo import REPO


class Guardrails:
    """Runs healstack.checks in a pytester project whose [tool.healstack] points at a migrated clone and at
    this repository's declarations (migrations copied, so a test can seed defects into them)."""

    def __init__(self, pytester: pytest.Pytester, dsn: str, migrations: Path) -> None:
        self.pytester, self.reports = pytester, pytester.path / "reports"
        self.backlog, self.last_run = pytester.path / "backlog", pytester.path
        pytester.makepyprojecttoml(f"""
            [tool.healstack]
            database_url = "{dsn}"
            migrations = "{migrations}"
            reports = "reports"
            rls_contract = "{REPO / 'checks' / 'rls_contract.toml'}"
            dq_rules = "{REPO / 'checks' / 'dq'}"
            lint_waivers = "{REPO / 'checks' / 'lint_waivers.toml'}"
            etl_sources = "{REPO / 'etl' / 'sources.toml'}"
            health = "{REPO / 'checks' / 'health.toml'}"
            healthcheck = "public.system_healthcheck"
        """)

    def run(self, *args: str) -> tuple[pytest.RunResult, list[dict]]:
        """One run; its result and its records. The run's folder is ``last_run`` afterwards."""
        done = set(self.reports.glob("*/results.jsonl"))
        # in-process runs import healstack before pytest registers its plugin: nothing to rewrite, no warning
        result = self.pytester.runpytest("--pyargs", "healstack.checks", "-p", "no:cacheprovider",
                                         "-W", "ignore::pytest.PytestAssertRewriteWarning", *args)
        [new] = [p for p in self.reports.glob("*/results.jsonl") if p not in done]
        self.last_run = new.parent
        return result, [json.loads(line) for line in new.read_text().splitlines()]
