"""The CI workflows are valid GitHub Actions (GitHub's workflow schema, as check-jsonschema ships it), call nox
sessions that exist, keep secrets out of scripts, and their schedules fire at the stated America/Toronto times
in winter and in summer: each gate lets through exactly the cron that means its Toronto time under the day's
offset. (actionlint does not install from PyPI here: its package downloads a binary while it builds.)"""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml
from repo import REPO

pytestmark = pytest.mark.any_postgres  # no server involved: run once (see pyproject.toml)

WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))
SCHEDULED = {"nightly-etl": ("01:10", None), "data-quality": ("02:00", None), "health": ("07:30", "Monday"),
             "retention": ("03:00", "Sunday")}
TORONTO = ZoneInfo("America/Toronto")
# a week day of winter and of summer, and the Sundays Toronto's clocks change in 2026 and 2027
DAYS = [date(2027, 1, 11), date(2026, 7, 13), date(2026, 3, 8), date(2026, 11, 1), date(2027, 3, 14)]


def _load(path: Path) -> dict:
    data = yaml.safe_load(path.read_text())
    data["on"] = data.pop(True, data.get("on"))  # YAML 1.1 reads the key `on` as true
    return data


def test_every_workflow_is_valid_against_githubs_schema():
    done = subprocess.run([Path(sys.executable).parent / "check-jsonschema", "--builtin-schema",
                           "vendor.github-workflows", *map(str, WORKFLOWS)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert {p.stem for p in WORKFLOWS} >= {"ci", "migrations", *SCHEDULED}


def test_workflows_call_sessions_that_exist_and_keep_secrets_out_of_scripts():
    noxfile = (REPO / "noxfile.py").read_text()
    for path in WORKFLOWS:
        for job in _load(path)["jobs"].values():
            for step in job.get("steps", []):
                script = step.get("run", "")
                assert "secrets." not in script, f"{path.name}: a secret inside a script"
                for session in re.findall(r"nox -s ([a-z0-9-]+)", script):
                    assert re.search(rf"^def {session.replace('-', '_')}\(|name=\"{session}\"", noxfile, re.M), \
                        f"{path.name}: no nox session {session}"


def _gate(path: Path) -> str:
    [step] = _load(path)["jobs"]["gate"]["steps"]
    return step["run"]


def _run_gate(path: Path, schedule: str, day: date, tmp_path: Path) -> bool:
    """The workflow's own gate script, on ``day`` (a fake `date` answers it; the gate's Python does the rest)."""
    fake = tmp_path / "bin"
    fake.mkdir(exist_ok=True)
    (fake / "date").write_text(f"#!/bin/sh\necho {day.isoformat()}\n")
    (fake / "date").chmod(0o755)
    output = tmp_path / "output"
    output.write_text("")
    env = {"PATH": f"{fake}:/usr/bin:/bin", "SCHEDULE": schedule, "GITHUB_OUTPUT": str(output),
           "TORONTO": _load(path)["env"]["TORONTO"]}
    subprocess.run(["bash", "-euo", "pipefail", "-c", _gate(path)], env=env, check=True)
    return output.read_text().strip() == "run=true"


def _crons(path: Path) -> list[str]:
    return [entry["cron"] for entry in _load(path)["on"]["schedule"]]


def _fires_on(cron: str, day: date) -> bool:
    dow = cron.split()[4]
    return dow == "*" or day.isoweekday() % 7 == int(dow)


@pytest.mark.parametrize("name", sorted(SCHEDULED))
def test_every_day_exactly_one_cron_runs_at_the_toronto_time(name, tmp_path):
    """Winter and summer days, and the nights Toronto's clocks change: on the night 02:00 does not exist the
    job runs at 03:00, just after the gap; on the night 01:10 happens twice, it runs at the first."""
    path = REPO / ".github" / "workflows" / f"{name}.yml"
    at, weekday = SCHEDULED[name]
    assert _load(path)["env"]["TORONTO"] == at
    for day in DAYS:
        fired = [cron for cron in _crons(path) if _fires_on(cron, day) and _run_gate(path, cron, day, tmp_path)]
        if weekday and day.strftime("%A") != weekday:
            assert fired == [], day  # the weekly job's crons do not fire on other days at all
            continue
        assert len(fired) == 1, (day, fired)
        minute, hour = map(int, fired[0].split()[:2])
        local = datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC).astimezone(TORONTO)
        wall = datetime(day.year, day.month, day.day, int(at[:2]), int(at[3:]))
        exists = wall.replace(tzinfo=TORONTO).astimezone(UTC).astimezone(TORONTO).replace(tzinfo=None) == wall
        expected = wall if exists else wall + timedelta(hours=1)  # the spring gap: an hour later
        assert local.replace(tzinfo=None) == expected and local.fold == 0, (day, local)
    assert _run_gate(path, "", DAYS[0], tmp_path)  # a manual run always passes
