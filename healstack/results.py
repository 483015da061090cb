"""The one results model: every check, whatever its phase, yields these records."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any


class Outcome(enum.StrEnum):
    """What a check found. "Could not evaluate" is never reported as "failed"."""

    PASSED = "passed"
    FAILED = "failed"
    WARNED = "warned"
    NOT_EVALUATED = "not_evaluated"
    ERROR = "error"


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
        return self.outcome in (Outcome.PASSED, Outcome.WARNED)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["outcome"] = self.outcome.value
        data["evidence"] = dict(self.evidence)
        return data

    def line(self) -> str:
        return f"{self.outcome.value.upper():<13} {self.check_id:<10} {self.object}: {self.message}"
