"""The stack's sources as its etl/sources.toml declares them, and which of them a run can pull: those whose
credentials are set, or on the embedded default those with recorded pages to stand in for them."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from healstack.config import Settings
from healstack.declarations import read_toml
from healstack.errors import ConfigError
from healstack.etl.sources.events import EventsSource
from healstack.etl.sources.meta import MetaSource
from healstack.etl.sources.shopify import ShopifySource
from healstack.etl.sources.tiktok import TikTokSource


@dataclass(frozen=True)
class DeclaredSource:
    name: str
    credentials: tuple[str | tuple[str, ...], ...]  # a tuple: any one of these variables will do
    fixtures: Path | None
    freshness_hours: float

    @property
    def table(self) -> str:
        return KNOWN[self.name]

    def missing(self, environ: Mapping[str, str]) -> list[str]:
        return [v if isinstance(v, str) else " or ".join(v) for v in self.credentials
                if not (environ.get(v) if isinstance(v, str) else any(environ.get(a) for a in v))]


# each source's name and the table it loads, as its class declares them
KNOWN = {source.name: source.table for source in (EventsSource, MetaSource, TikTokSource, ShopifySource)}


def declared(settings: Settings) -> list[DeclaredSource]:
    """The sources of etl/sources.toml (none when the project has no such file)."""
    path = settings.etl_sources
    if not path.exists():
        if "etl_sources" in settings.explicit:
            raise ConfigError(f"ETL sources file not found: {path}")
        return []
    sources = []
    for name, raw in read_toml(path).items():
        if name not in KNOWN or not isinstance(raw, dict):
            raise ConfigError(f"{path.name}: [{name}] is not a source healstack knows ({', '.join(KNOWN)})")
        sources.append(_source(name, raw, path))
    return sources


def _source(name: str, raw: dict[str, Any], path: Path) -> DeclaredSource:
    credentials, hours, fixtures = raw.get("credentials", []), raw.get("freshness_hours", 26), raw.get("fixtures")
    if not isinstance(credentials, list) or not all(
            isinstance(c, str) or (isinstance(c, list) and c and all(isinstance(a, str) for a in c))
            for c in credentials):
        raise ConfigError(f"{path.name}: [{name}] credentials must be a list of variable names (a list inside it: "
                          "any one of those)")
    if not isinstance(hours, int | float) or isinstance(hours, bool) or hours <= 0:
        raise ConfigError(f"{path.name}: [{name}] freshness_hours must be a number of hours above 0")
    if fixtures is not None and not isinstance(fixtures, str):
        raise ConfigError(f"{path.name}: [{name}] fixtures must be a folder")
    folder = None if fixtures is None else (path.parent / fixtures).resolve()  # relative to this file
    needed = tuple(c if isinstance(c, str) else tuple(c) for c in credentials)
    return DeclaredSource(name, needed, folder, float(hours))


@dataclass(frozen=True)
class Pullable:
    source: DeclaredSource
    stand_in: bool  # served from its recorded pages, not the real API

    @property
    def label(self) -> str:
        return f"{self.source.name} (fixture-served: {self.source.fixtures})" if self.stand_in else self.source.name


def pullable(settings: Settings, embedded: bool, environ: Mapping[str, str] | None = None) -> list[Pullable]:
    """Sources a run can pull: credentials set (the real API), else on the embedded default their fixtures."""
    env = os.environ if environ is None else environ
    found = []
    for source in declared(settings):
        if not source.missing(env):
            found.append(Pullable(source, False))
        elif embedded and source.fixtures is not None and source.fixtures.is_dir():
            found.append(Pullable(source, True))
    return found
