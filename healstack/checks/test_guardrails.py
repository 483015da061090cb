"""Every phase's guardrails as one pytest case each, marked with the phase (`-m rls`, `-k parity`).

A case reports everything its phase's function finds on the target: one subtest per result (per migration,
schema difference, lint finding, RLS case, leak probe, rule), so no database is touched at collection."""

from __future__ import annotations

import pytest

from healstack.plugin import Reporter
from healstack.registry import Phase

CHECKED = (Phase.PREFLIGHT, Phase.APPLY, Phase.ROLLBACK, Phase.PARITY, Phase.LINTS, Phase.RLS, Phase.ETL, Phase.DQ,
           Phase.HEALTH, Phase.DOCTOR)


@pytest.mark.parametrize("phase", [pytest.param(p, marks=getattr(pytest.mark, p.value), id=p.value)
                                   for p in CHECKED])
def test_phase(phase: Phase, healstack_check: Reporter) -> None:
    healstack_check.phase(phase)
