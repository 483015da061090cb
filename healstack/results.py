"""The one results model: every check, whatever its phase, yields these records."""

from __future__ import annotations

import enum
import json
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


def dump_jsonl(results: Iterable[CheckResult]) -> str:
    return "".join(json.dumps(r.to_dict(), default=str, sort_keys=True) + "\n" for r in results)


def worst(results: Iterable[CheckResult]) -> Outcome:
    """The most severe outcome among results (PASSED for none)."""
    order = [Outcome.PASSED, Outcome.WARNED, Outcome.NOT_EVALUATED, Outcome.FAILED, Outcome.ERROR]
    return max((r.outcome for r in results), key=order.index, default=Outcome.PASSED)
