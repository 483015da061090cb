"""Static security and performance lints on the target (waivers in checks/lint_waivers.toml)."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from healstack.config import Settings
from healstack.verify.lints import Facts, gather, load_waivers, run_lint

pytestmark = pytest.mark.verify


@pytest.fixture(scope="session")
def lint_facts(healstack_conn: psycopg.Connection[Any]) -> Facts:
    return gather(healstack_conn)


@pytest.fixture(scope="session")
def waivers(healstack_settings: Settings) -> dict[tuple[str, str], str]:
    return load_waivers(healstack_settings.lint_waivers)


def test_lint(lint, lint_facts: Facts, waivers, healstack_results) -> None:
    healstack_results.extend(run_lint(lint, lint_facts, waivers))
