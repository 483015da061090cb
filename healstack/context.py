"""What every phase function is given: the target, the settings, and where its evidence goes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from healstack.config import Settings
from healstack.evidence import EvidenceLog


@dataclass(frozen=True)
class Context:
    dsn: str
    settings: Settings
    # the run's report directory (reports/<run id>); None for throwaway work whose evidence nobody reads
    run_dir: Path | None = None

    def evidence(self, phase: str) -> EvidenceLog:
        return EvidenceLog(self.run_dir, phase)
