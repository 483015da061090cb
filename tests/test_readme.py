"""The README cannot drift: its check table is the registry's, its configuration table the settings', its
commands exist, and CI runs exactly its test command."""

from __future__ import annotations

import itertools
import re

import pytest
from repo import REPO

from healstack import registry
from healstack.cli import _parser
from healstack.config import OPTIONS

pytestmark = pytest.mark.any_postgres  # no server involved: run once (see pyproject.toml)

README = (REPO / "README.md").read_text()


def _table_after(heading: str) -> list[str]:
    """The first Markdown table after ``heading``: its consecutive lines starting with '|'."""
    lines = iter(README[README.index(heading):].splitlines())
    table = [next(line for line in lines if line.startswith("|"))]
    table += list(itertools.takewhile(lambda line: line.startswith("|"), lines))
    return table


def test_the_check_table_is_the_registry():
    assert _table_after("## Checks") == registry.markdown_table()


def test_every_check_id_named_anywhere_is_declared():
    named = set(re.findall(r"\bHS\d{3}\b", README))
    assert named <= set(registry.CHECKS), named - set(registry.CHECKS)


def test_the_configuration_table_lists_every_setting_with_its_variable_and_default():
    rows = {line.split("|")[1].strip(" `"): line for line in _table_after("## Configuration")[2:]}
    assert set(rows) == {o.name for o in OPTIONS}
    for option in OPTIONS:
        for variable in option.env:
            assert f"`{variable}`" in rows[option.name]
        assert (f"`{option.default}`" if option.default else "unset") in rows[option.name]


def test_every_command_and_nox_session_in_the_phase_table_exists():
    noxfile = (REPO / "noxfile.py").read_text()
    commands = set(_parser()._subparsers._group_actions[0].choices)  # type: ignore[union-attr]
    for row in _table_after("## Phases")[2:]:
        session, command = (cell.strip() for cell in row.split("|")[1:3])
        if session:
            assert re.search(rf"^def {session.strip('`')}\(", noxfile, re.M), session
        for name in re.findall(r"`healstack ([a-z-]+)", command):
            assert name in commands, name


def test_ci_runs_exactly_the_readme_test_command():
    first_screen = README.split("## ", 1)[0]
    [command] = [line for line in first_screen.splitlines() if line.endswith("nox -s tests")]
    assert command in (REPO / ".ci" / "run").read_text().splitlines()
    assert any(line.endswith("nox -s rehearsal") for line in first_screen.splitlines())
