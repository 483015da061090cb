"""Sources: typed config from the environment plus a generator of pages with an explicit cursor."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

from healstack.errors import ConfigError
from healstack.etl.http import Attempt

TORONTO = "America/Toronto"


class BadRecord(ValueError):
    """A record the source cannot turn into a row; the message names the field."""


@dataclass(frozen=True)
class Page:
    """Rows ready for the target table, and the cursor to save once they are loaded."""

    rows: list[dict[str, Any]]
    cursor: dict[str, Any]
    warnings: list[str] = field(default_factory=list)
    progress: float | None = None  # the share of the run's window read so far, where the source knows it


@dataclass(frozen=True)
class Window:
    since: date
    until: date


class Attempts(Protocol):
    """What a run reads of a source's HTTP client: the failed attempts it retried, for the run ledger."""

    @property
    def attempts(self) -> list[Attempt]: ...


class Source(Protocol):
    name: str
    table: str

    @property
    def client(self) -> Attempts: ...

    def pages(self, window: Window, cursor: dict[str, Any] | None) -> Iterator[Page]: ...


def env(name: str, default: str | None = None, *, required: bool = True) -> str:
    value = os.environ.get(name, default)
    if required and not value:
        raise ConfigError(f"{name} is not set")
    return value or ""
