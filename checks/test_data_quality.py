"""Data-quality rules (checks/dq/) on the target: one case per rule, all rules of a table in one scan."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from healstack.config import Settings
from healstack.dq.rules import Rule, load_rules
from healstack.dq.runner import run_rules
from healstack.results import CheckResult

pytestmark = pytest.mark.dq


@pytest.fixture(scope="session")
def dq_results(healstack_conn: psycopg.Connection[Any], healstack_settings: Settings) -> dict[str, CheckResult]:
    """Every rule run once, together, so a table's row-level rules share one scan."""
    return {r.check_id: r for r in run_rules(healstack_conn, load_rules(healstack_settings.dq_rules))}


def test_rule(dq_rule: Rule, dq_results: dict[str, CheckResult], healstack_results) -> None:
    healstack_results.append(dq_results[dq_rule.id])
