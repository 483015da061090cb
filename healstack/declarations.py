"""Reading the project's declaration files (migrations, contract, rules, waivers, pyproject): any that cannot
be read as UTF-8 text is one line naming it, never a traceback."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from healstack.errors import ConfigError


def read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise ConfigError(f"{path}: not UTF-8 text (byte 0x{e.object[e.start]:02x} at offset {e.start}); "
                          "save it as UTF-8") from None
    except OSError as e:
        raise ConfigError(f"{path}: cannot be read: {e.strerror}") from None


def read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(read_text(path))
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path.name}: {e}") from None


def load_waivers(path: Path) -> dict[tuple[str, str], str]:
    """(lint id, object) -> reason, from a TOML file of [[waiver]] tables (checks/lint_waivers.toml, for the
    verify lints and the migration lint alike); a waiver needs a reason."""
    if not path.exists():
        return {}
    entries = read_toml(path).get("waiver", [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise ConfigError(f"{path.name}: waivers are [[waiver]] tables with lint, object and reason")
    waivers = {}
    for i, entry in enumerate(entries, start=1):
        lint, reason = entry.get("lint"), str(entry.get("reason", "")).strip()
        objects = entry.get("objects", [entry.get("object")])  # one reason may cover several objects
        if not lint or not isinstance(objects, list) or not all(objects) or not objects or not reason:
            raise ConfigError(f"{path.name}: waiver {i} needs lint, object (or objects) and a reason")
        waivers.update({(lint, str(obj)): reason for obj in objects})
    return waivers
