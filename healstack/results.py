"""The one results model: every check, whatever its phase, yields these records; one policy judges them."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any


class Outcome(enum.StrEnum):
    """What a check found. "Could not evaluate" is never reported as "failed"."""

    PASSED = "passed"
    FAILED = "failed"
    WARNED = "warned"
    NOT_EVALUATED = "not_evaluated"
    ERROR = "error"

    @property
    def failing(self) -> bool:
        """The one rule for "this run failed": a finding (FAILED) or a check that broke (ERROR).
        NOT_EVALUATED is neither passed nor failed: pytest shows it as a skip with its reason."""
        return self in (Outcome.FAILED, Outcome.ERROR)


class Severity(enum.StrEnum):
    """How bad a finding is: an error fails the run, a warning is listed, info is only recorded."""

    ERROR = "error"
    WARN = "warn"
    INFO = "info"

    def outcome(self) -> Outcome:
        """The outcome of a finding of this severity."""
        return Outcome.FAILED if self is Severity.ERROR else Outcome.WARNED if self is Severity.WARN \
            else Outcome.PASSED


class ExitCode(enum.IntEnum):
    """The same exit codes from the CLI, nox and pytest runs (pytest's own 2-5 keep their meaning)."""

    OK = 0              # every check passed (warnings and "not evaluated" are listed, not failures)
    FAILED = 1          # a check failed or errored (a migration that failed included)
    BAD_INPUT = 2       # bad input or configuration, or an unreachable target: one line says which
    REFUSED = 3         # a guardrail refused to change anything (unsafe or drifted migrations)


@dataclass(frozen=True)
class CheckResult:
    """One finding: which check, on which object, what it found, and the evidence for it."""

    check_id: str
    outcome: Outcome
    object: str
    message: str
    evidence: Mapping[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.outcome.failing

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["outcome"] = self.outcome.value
        data["evidence"] = dict(self.evidence)
        return data

    def line(self) -> str:
        return f"{self.outcome.value.upper():<13} {self.check_id:<10} {self.object}: {self.message}"


def counts(results: Iterable[CheckResult]) -> dict[Outcome, int]:
    """Results per outcome, every outcome present."""
    tally = dict.fromkeys(Outcome, 0)
    for result in results:
        tally[result.outcome] += 1
    return tally


def describe_counts(tally: Mapping[Outcome, int]) -> str:
    """"12 passed, 1 warned" in the order of the Outcome enum, zero counts left out."""
    return ", ".join(f"{n} {o.value.replace('_', ' ')}" for o, n in tally.items() if n) or "nothing"
