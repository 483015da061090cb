"""Retention, backups and restore: a dry run changes nothing; nothing is deleted without a backup read back and
matched; the policy's exceptions are kept; restore is exact and idempotent; a kill -9 mid-run loses nothing;
two runs never overlap; and the checks over the jobs fail on a stalled job."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest
from psycopg import sql
from repo import REPO

from healstack.config import Settings
from healstack.db import connect
from healstack.errors import ConfigError
from healstack.lease import lease
from healstack.results import Outcome
from healstack.retention import archive, job
from healstack.retention.checks import backup_age, overdue
from healstack.retention.job import BackupMismatch, run
from healstack.retention.policy import due, load_policy
from healstack.retention.snapshot import backup, prune

POLICY = load_policy(REPO / "checks" / "retention.toml")
TZ = "America/Toronto"
TABLES = ("agent_feedback", "agent_approvals", "agent_queries")

# rows of every age from 0 to 249 days, each exception's column set, NULL and unset
SEED = """
insert into public.agent_feedback (project, conversation_id, input_text, model_draft, safe_to_send, labels, meta,
                                   created_at)
select 'p' || (g %% 3), 'c' || g, 'question ' || g || e' with\\ttab and "quotes"', 'draft',
       case g %% 3 when 0 then false when 1 then true end, array['a', 'b'], jsonb_build_object('n', g, 'x', 1.5),
       now() - make_interval(days => g %% 250, secs => g)
from generate_series(1, %(n)s) as g;
insert into public.agent_approvals (project, conversation_id, serialized, status, created_at)
select 'p', 'c' || g, jsonb_build_object('g', g), (array['pending', 'approved', 'rejected'])[1 + g %% 3],
       now() - make_interval(days => g %% 200)
from generate_series(1, 300) as g;
insert into public.agent_queries (project, conversation_id, agent, query, result, latency_ms, created_at)
select 'p', 'c', 'a', 'q' || g, '{}', case when g %% 4 = 0 then null else (g * 7) %% 400 end,
       now() - make_interval(days => g %% 200)
from generate_series(1, 400) as g;
"""


def _seed(dsn: str, n: int = 2500) -> None:
    with connect(dsn, autocommit=True) as c:
        c.execute(SEED.replace("%(n)s", str(n)).replace("%%", "%"))


def _snapshot(dsn: str) -> dict[str, tuple[int, str]]:
    """Each agent table's rows as text, hashed in key order: equal only for identical rows."""
    with connect(dsn) as c:
        out = {}
        for t in TABLES:
            row = c.execute(sql.SQL("select count(*), md5(coalesce(string_agg(r::text, e'\\n' order by id), ''))"
                                    " from {} as r").format(sql.Identifier("public", t))).fetchone()
            assert row is not None
            out[t] = (int(row[0]), str(row[1]))
        return out


def _expected_due(dsn: str) -> dict[str, int]:
    """The policy computed in Python from each row's age in Toronto days (an oracle independent of the SQL)."""
    today = datetime.now(ZoneInfo(TZ)).date()

    def cut(days: int) -> datetime:
        day = today - timedelta(days=days)
        return datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(TZ))

    with connect(dsn) as c:
        fb = c.execute("select created_at, safe_to_send from public.agent_feedback").fetchall()
        ap = c.execute("select created_at, status from public.agent_approvals").fetchall()
        qs = c.execute("select created_at, latency_ms from public.agent_queries").fetchall()
    return {
        "agent_feedback": sum(at < cut(30) and not (safe is not True and at >= cut(180)) for at, safe in fb),
        "agent_approvals": sum(at < cut(90) and status != "pending" for at, status in ap),
        "agent_queries": sum(at < cut(60) and not ((ms is None or ms > 200) and at >= cut(180)) for at, ms in qs),
    }


def test_a_dry_run_counts_what_would_go_and_changes_nothing(migrated_db: str, tmp_path: Path) -> None:
    _seed(migrated_db)
    before = _snapshot(migrated_db)
    with connect(migrated_db, autocommit=True) as c:
        tallies, folder = run(c, POLICY, TZ, tmp_path, dry_run=True)
    assert folder is None and not list(tmp_path.iterdir())
    assert _snapshot(migrated_db) == before
    assert {t.table.split(".")[1]: t.due for t in tallies} == _expected_due(migrated_db)
    assert all(n > 0 for t in tallies for n in t.kept_by.values())  # each exception holds rows back


def test_a_run_deletes_exactly_the_due_rows_after_backing_them_up_and_restore_is_exact(
        migrated_db: str, tmp_path: Path) -> None:
    _seed(migrated_db)
    before, expected = _snapshot(migrated_db), _expected_due(migrated_db)
    with connect(migrated_db, autocommit=True) as c:
        tallies, folder = run(c, POLICY, TZ, tmp_path, dry_run=False)
        logged = c.execute("select sum((metadata ->> 'rows')::int) from public.observability_logs"
                           " where message like 'healstack retention%'").fetchone()
    assert folder is not None
    assert {t.table.split(".")[1]: t.deleted for t in tallies} == expected
    after = _snapshot(migrated_db)
    assert {t: before[t][0] - after[t][0] for t in TABLES} == expected
    assert _expected_due(migrated_db) == dict.fromkeys(TABLES, 0)  # nothing due is left, nothing else went
    assert logged and logged[0] == sum(expected.values())
    assert sum(p.rows for p in archive.read_manifest(folder)) == sum(expected.values())
    with connect(migrated_db, autocommit=True) as c:
        assert sum(archive.restore(c, folder).values()) == sum(expected.values())
        assert sum(archive.restore(c, folder).values()) == 0  # again: nothing to put back
    assert _snapshot(migrated_db) == before  # bit for bit, keys included
    with connect(migrated_db, autocommit=True) as c:
        assert run(c, POLICY, TZ, tmp_path, dry_run=False)[1] is not None  # restored rows are due again


def test_a_backup_that_does_not_read_back_stops_the_run_before_any_delete(
        migrated_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _seed(migrated_db)
    before = _snapshot(migrated_db)
    real = archive.load_part

    def tampered(conn: psycopg.Connection[Any], folder: Path, part: archive.Part) -> str:
        temp = real(conn, folder, part)  # the file as written, then one row differs from it
        conn.execute(sql.SQL("update {t} set project = 'changed' where ctid = (select min(ctid) from {t})").format(
            t=sql.Identifier(temp)))
        return temp

    monkeypatch.setattr(archive, "load_part", tampered)
    with connect(migrated_db, autocommit=True) as c, pytest.raises(BackupMismatch, match="nothing of this batch"):
        run(c, POLICY, TZ, tmp_path, dry_run=False)
    assert _snapshot(migrated_db) == before


def test_a_changed_backup_file_is_refused_by_restore(migrated_db: str, tmp_path: Path) -> None:
    _seed(migrated_db, 300)
    with connect(migrated_db, autocommit=True) as c:
        _, folder = run(c, POLICY, TZ, tmp_path, dry_run=False)
        assert folder is not None
        part = folder / archive.read_manifest(folder)[0].file
        part.write_bytes(part.read_bytes().replace(b"draft", b"Draft", 1))
        with pytest.raises(ConfigError, match="changed since it was written"):
            archive.restore(c, folder)


def test_a_kill_mid_run_loses_nothing(migrated_db: str, tmp_path: Path) -> None:
    """The third batch waits on a row lock held here; the run is killed there. Every row gone is in a part."""
    _seed(migrated_db, 5000)
    before = _snapshot(migrated_db)
    (tmp_path / "checks").mkdir()
    (tmp_path / "checks" / "retention.toml").write_bytes((REPO / "checks" / "retention.toml").read_bytes())
    env = {**os.environ, "DATABASE_URL": migrated_db}
    with connect(migrated_db) as holder:
        params: list[Any] = []
        third_batch = sql.SQL("select id from public.agent_feedback where {} order by id offset 2100 limit 1"
                                      ).format(due(POLICY.tables[0], TZ, params))
        row = holder.execute(third_batch, params).fetchone()  # locked apart: FOR UPDATE locks the offset too
        assert row and holder.execute("select from public.agent_feedback where id = %s for update", row).rowcount
        proc = subprocess.Popen([sys.executable, "-m", "healstack", "retention"], cwd=tmp_path, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        with connect(migrated_db, autocommit=True) as watch:
            while watch.execute("select from pg_stat_activity where wait_event_type = 'Lock'"
                                " and query like '%healstack_due%'").rowcount == 0:
                assert proc.poll() is None, proc.communicate()
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
    folder = next((tmp_path / "backups").glob("retention-*"))
    gone = {t: before[t][0] - n for t, (n, _) in _snapshot(migrated_db).items()}
    assert gone["agent_feedback"] >= 2000  # two batches went before the kill
    with connect(migrated_db, autocommit=True) as c:
        archive.restore(c, folder)
    assert _snapshot(migrated_db) == before


def test_two_runs_never_overlap(migrated_db: str, tmp_path: Path) -> None:
    (tmp_path / "checks").mkdir()
    (tmp_path / "checks" / "retention.toml").write_bytes((REPO / "checks" / "retention.toml").read_bytes())
    with lease(migrated_db, "retention"):
        done = subprocess.run([sys.executable, "-m", "healstack", "retention"], cwd=tmp_path, capture_output=True,
                              text=True, env={**os.environ, "DATABASE_URL": migrated_db}, check=False)
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "another healstack retention" in done.stderr


def test_backup_counts_in_one_snapshot_keeps_the_last_n_and_restores(migrated_db: str, tmp_path: Path) -> None:
    _seed(migrated_db, 300)
    with connect(migrated_db, autocommit=True) as c:
        assert backup_age(c, POLICY).outcome is Outcome.FAILED  # rows, and never a backup
        folders = [backup(c, POLICY.backup_tables, tmp_path, keep=2)[0] for _ in range(3)]
        assert backup_age(c, POLICY).outcome is Outcome.PASSED
    assert sorted(tmp_path.glob("backup-*")) == folders[1:]
    before = _snapshot(migrated_db)
    with connect(migrated_db, autocommit=True) as c:
        c.execute("delete from public.agent_approvals where status = 'approved'")
        assert archive.restore(c, folders[-1])["public.agent_approvals"] == 100
    assert _snapshot(migrated_db) == before
    assert prune(tmp_path, 1) == [folders[1]]


def test_overdue_rows_fail_and_pass_once_the_job_has_run(migrated_db: str, tmp_path: Path) -> None:
    _seed(migrated_db, 300)
    with connect(migrated_db, autocommit=True) as c:
        found = {r.object: r.outcome for r in overdue(c, POLICY, TZ)}
        assert found == dict.fromkeys((f"public.{t}" for t in TABLES), Outcome.FAILED)
        run(c, POLICY, TZ, tmp_path, dry_run=False)
        assert {r.outcome for r in overdue(c, POLICY, TZ)} == {Outcome.PASSED}


@pytest.mark.parametrize("text, problem", [
    ("[[table]]\nname = 'agent_feedback'\nage_column = 'created_at'\ndays = 0\n", "days must be a whole number"),
    ("[[table]]\nname = 'x'\nage_column = 'c'\ndays = 3\n[[table.keep]]\ncolumn = 'a'\nequals = 1\nabove = 2\n",
     "one of equals, above, below"),
    ("[[table]]\nname = 'x'\nage = 'c'\ndays = 3\n", "unknown key 'age'"),
    ("[backup]\ntables = 'agent_feedback'\n", "backup.tables must be a list"),
])
def test_a_bad_policy_is_one_line_naming_it(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "retention.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=problem):
        load_policy(path)


@pytest.mark.parametrize("today", [date(2026, 3, 8), date(2026, 3, 9), date(2026, 11, 1), date(2026, 11, 2)])
def test_cutoffs_are_toronto_midnights_across_daylight_saving(conn: psycopg.Connection[Any], today: date) -> None:
    from healstack.retention.policy import cutoff
    params: list[Any] = []
    expression = cutoff(1, TZ, params)
    with conn.transaction():
        conn.execute("select set_config('healstack.now', %s, true)", [f"{today} 12:00 America/Toronto"])
        statement = sql.SQL("select {}").format(expression).as_string(conn).replace(
            "now()", "current_setting('healstack.now')::timestamptz")
        got = conn.execute(statement, params).fetchone()
    day = today - timedelta(days=1)
    assert got and got[0] == datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(TZ))


def test_a_policy_naming_what_the_database_lacks_is_one_line(migrated_db: str, tmp_path: Path) -> None:
    (tmp_path / "checks").mkdir()
    (tmp_path / "checks" / "retention.toml").write_text(
        "[[table]]\nname = 'agent_feedback'\nage_column = 'arrived_at'\ndays = 30\n")
    done = subprocess.run([sys.executable, "-m", "healstack", "retention", "--dry-run"], cwd=tmp_path,
                          capture_output=True, text=True, env={**os.environ, "DATABASE_URL": migrated_db}, check=False)
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert 'retention.toml does not fit the database: column "arrived_at" does not exist' in done.stderr


def test_settings_know_the_policy_and_backups(tmp_path: Path) -> None:
    s = Settings.resolve(tmp_path, environ={"HEALSTACK_BACKUPS_DIR": "/srv/b"})
    assert s.retention == tmp_path / "checks" / "retention.toml" and s.backups_dir == Path("/srv/b")
    assert job.ROLE == "service_role"
