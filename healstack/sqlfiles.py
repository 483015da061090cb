"""Catalog and check queries kept as .sql files beside the module that runs them (each runs in psql)."""

from __future__ import annotations

from functools import cache
from importlib.resources import files


@cache
def query(package: str, name: str) -> bytes:
    """``<package>/sql/<name>.sql``, read once."""
    return files(package).joinpath(f"sql/{name}.sql").read_bytes()
