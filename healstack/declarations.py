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
