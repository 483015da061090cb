"""The live schema is exactly what migrations/ builds: every difference is its own failure."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.verify


def test_schema_matches_migrations(schema_difference, healstack_results) -> None:
    healstack_results.append(schema_difference)
