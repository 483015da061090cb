"""Errors that end a command with one clear line and a distinct exit code."""

from __future__ import annotations


class HealstackError(Exception):
    """A failure the user can act on; the CLI prints it as one line, never a traceback."""

    exit_code = 2

    def __init__(self, message: str, *, exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class ConfigError(HealstackError):
    """Bad input: a malformed setting, a missing file, an unreachable database."""

    exit_code = 2


class MigrationFailed(HealstackError):
    """A migration statement failed; nothing of that file was kept."""

    exit_code = 1


class Refused(HealstackError):
    """A guardrail refused to go on (destructive DDL, checksum drift)."""

    exit_code = 3
