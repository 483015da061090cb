"""Every data-quality rule type fails on a seeded defect and passes on clean data."""

from __future__ import annotations

from pathlib import Path

import pytest

from healstack.dq import runner
from healstack.dq.rules import load_rules, load_table_file
from healstack.errors import ConfigError
from healstack.results import Outcome

SCHEMA = [
    "create table public.dq_parent (id int primary key)",
    "insert into public.dq_parent values (1), (2)",
    "create table public.dq_t (id int primary key, a text, grp text, n numeric, ts timestamptz, ref int)",
    "create table public.dq_total (k text primary key, v numeric)",
    "create table public.dq_part (id int primary key, k text, v numeric)",
]
CLEAN = [
    "insert into public.dq_t values (1, 'x', 'g1', 1, now() - interval '10 minutes', 1),"
    " (2, 'y', 'g1', 5, now() - interval '20 minutes', 2), (3, 'x', 'g2', 10, now() - interval '30 minutes', null)",
    "insert into public.dq_total values ('a', 3), ('b', 4)",
    "insert into public.dq_part values (1, 'a', 1), (2, 'a', 2), (3, 'b', 4)",
]

T = "insert into public.dq_t"
# (rule body, defect statements, expected violations)
CASES = {
    "not_null": ('type = "not_null"\ncolumn = "a"', [f"{T} (id, a) values (9, null)"], 1),
    "unique": ('type = "unique"\ncolumns = ["grp", "a"]', [f"{T} (id, a, grp) values (9, 'x', 'g1')"], 1),
    "accepted_values": ('type = "accepted_values"\ncolumn = "a"\nvalues = ["x", "y"]',
                        [f"{T} (id, a) values (9, 'z')"], 1),
    "range": ('type = "range"\ncolumn = "n"\nmin = 0\nmax = 10',
              [f"{T} (id, n) values (9, 10.5)", f"{T} (id, n) values (8, -1)"], 2),
    "regex": ('type = "regex"\ncolumn = "a"\npattern = "^[a-z]+$"', [f"{T} (id, a) values (9, 'A1')"], 1),
    "referential": ('type = "referential"\ncolumn = "ref"\nto = "public.dq_parent"\nto_column = "id"',
                    [f"{T} (id, ref) values (9, 99)"], 1),
    "freshness": ('type = "freshness"\ncolumn = "ts"\nmax_age_hours = 1',
                  ["update public.dq_t set ts = now() - interval '2 hours'",
                   # a row dated in the future must not make stale data look fresh
                   f"{T} (id, ts) values (9, now() + interval '1 day')"], 1),
    "future_dates": ('type = "future_dates"\ncolumn = "ts"', [f"{T} (id, ts) values (9, now() + interval '1 day')"], 1),
    "row_count": ('type = "row_count"\nmin = 1\nmax = 3', [f"{T} (id) values (9)"], None),
    "consistency": ('type = "consistency"\nkey = ["k"]\ncolumn = "v"\nto = "public.dq_part"\nto_key = ["k"]\n'
                    'to_column = "v"', ["update public.dq_part set v = 5 where id = 3"], 1),
    "custom": ('type = "custom"\nsql = "select id from public.dq_t where n > 10 and a = \'x\'"',
               [f"{T} (id, a, n) values (9, 'x', 11)"], 1),
}
TABLE_OF = {"consistency": "public.dq_total"}


def _rule_file(tmp_path: Path, kind: str, body: str, extra: str = "") -> Path:
    path = tmp_path / f"{kind}.toml"
    path.write_text(f'table = "{TABLE_OF.get(kind, "public.dq_t")}"\n\n[[rules]]\nid = "t.{kind}"\n{body}\n{extra}')
    return path


@pytest.fixture
def dq(conn):
    for statement in SCHEMA + CLEAN:
        conn.execute(statement)
    return conn


@pytest.mark.parametrize("kind", sorted(CASES))
def test_rule_passes_clean_and_fails_on_defect(dq, tmp_path, kind):
    body, defect, expected = CASES[kind]
    [rule] = load_table_file(_rule_file(tmp_path, kind, body))
    [clean] = runner.run_rules(dq, [rule])
    assert clean.outcome is Outcome.PASSED, clean.line()
    for statement in defect:
        dq.execute(statement)
    [dirty] = runner.run_rules(dq, [rule])
    assert dirty.outcome is Outcome.FAILED, dirty.line()
    assert dirty.evidence["declared_at"] == f"{kind}.toml:3" and f"declared at {kind}.toml:3" in dirty.message
    if expected is not None:
        assert dirty.evidence["observed"] == expected


def test_unique_reports_groups_excess_and_rows_involved(dq, tmp_path):
    [rule] = load_table_file(_rule_file(tmp_path, "unique", CASES["unique"][0]))
    dq.execute("insert into public.dq_t (id, a, grp) values (9, 'x', 'g1'), (10, 'x', 'g1'), (11, 'x', 'g2')")
    [result] = runner.run_rules(dq, [rule])
    assert result.evidence["details"] == {"duplicate_groups": 2, "excess_rows": 3, "rows_involved": 5}
    assert "2 duplicate groups, 3 excess rows, 5 rows involved" in result.message


def test_duplicates_in_a_table_with_a_composite_key_name_their_rows_by_position(dq, tmp_path):
    dq.execute("create table public.dq_pair (k1 text, k2 int, email text, primary key (k1, k2))")
    dq.execute("insert into public.dq_pair values ('a', 1, 'x@e'), ('a', 2, 'x@e'), ('b', 1, 'y@e')")
    path = tmp_path / "pair.toml"
    path.write_text('table = "public.dq_pair"\n\n[[rules]]\nid = "t.pair"\ntype = "unique"\ncolumns = ["email"]\n')
    [result] = runner.run_rules(dq, load_table_file(path))
    assert result.outcome is Outcome.FAILED and result.evidence["rows_tested"] == 3
    [group] = result.evidence["samples"]
    assert group["email"] == "x@e" and group["rows"] == 2
    assert (group["first_key"], group["last_key"]) == ("(0,1)", "(0,2)")


def test_samples_are_keyed_by_primary_key_and_capped_at_20(dq, tmp_path):
    [rule] = load_table_file(_rule_file(tmp_path, "not_null", CASES["not_null"][0]))
    dq.execute("insert into public.dq_t (id) select g from generate_series(100, 129) g")
    [result] = runner.run_rules(dq, [rule])
    assert result.evidence["observed"] == 30 and len(result.evidence["samples"]) == 20
    assert result.evidence["samples"][0] == {"id": 100, "a": None}


def test_warn_severity_and_ratio_threshold(dq, tmp_path):
    body = CASES["not_null"][0]
    [rule] = load_table_file(_rule_file(tmp_path, "not_null", body, 'severity = "warn"\nmax_ratio = 0.3'))
    dq.execute("insert into public.dq_t (id) values (9)")      # 1 of 4 rows: within 30%
    assert runner.run_rules(dq, [rule])[0].outcome is Outcome.PASSED
    dq.execute("insert into public.dq_t (id) values (10)")     # 2 of 5 rows: over
    assert runner.run_rules(dq, [rule])[0].outcome is Outcome.WARNED


def test_time_window_checks_only_recent_rows(dq, tmp_path):
    [rule] = load_table_file(_rule_file(tmp_path, "regex", CASES["regex"][0],
                                        'window_column = "ts"\nwindow_days = 1'))
    dq.execute("insert into public.dq_t (id, a, ts) values (9, 'OLD', now() - interval '3 days')")
    assert runner.run_rules(dq, [rule])[0].outcome is Outcome.PASSED
    dq.execute("insert into public.dq_t (id, a, ts) values (10, 'NEW', now())")
    assert runner.run_rules(dq, [rule])[0].evidence["observed"] == 1


def test_volume_anomaly_against_trailing_days(dq, tmp_path):
    path = tmp_path / "anomaly.toml"
    path.write_text('table = "public.dq_t"\n\n[[rules]]\nid = "t.anomaly"\ntype = "row_count_anomaly"\n'
                    'column = "ts"\nmax_deviation = 0.5\n')
    [rule] = load_table_file(path)
    dq.execute("set timezone = 'America/Toronto'")  # the stack's days, as the runner counts them
    dq.execute("delete from public.dq_t")
    assert runner.run_rules(dq, [rule])[0].outcome is Outcome.NOT_EVALUATED
    dq.execute("insert into public.dq_t (id, ts) select d * 100 + i, current_date - d + interval '12 hours'"
               " from generate_series(2, 15) d, generate_series(1, 10) i")
    dq.execute("insert into public.dq_t (id, ts) select 5000 + i, current_date - 1 + interval '12 hours'"
               " from generate_series(1, 10) i")
    assert runner.run_rules(dq, [rule])[0].outcome is Outcome.PASSED
    dq.execute("delete from public.dq_t where id > 5002 and id < 6000")
    result = runner.run_rules(dq, [rule])[0]
    assert result.outcome is Outcome.FAILED and result.evidence["details"]["latest_day_rows"] == 2


def test_constraint_guaranteed_rules_pass_without_a_scan(conn, monkeypatch):
    rules = [r for r in load_rules(Path(__file__).parent.parent / "checks" / "dq")
             if r.id in ("facts.project_present", "orders.natural_key_unique")]
    monkeypatch.setattr(runner, "_execute", lambda *_: pytest.fail("scanned"))
    results = runner.run_rules(conn, rules)
    assert [r.outcome for r in results] == [Outcome.PASSED, Outcome.PASSED]
    assert all("passed by constraint" in r.message for r in results)


def test_row_level_rules_of_a_table_share_one_scan(dq, tmp_path, monkeypatch):
    path = tmp_path / "many.toml"
    kinds = ["not_null", "accepted_values", "range", "regex", "future_dates", "freshness", "row_count"]
    path.write_text('table = "public.dq_t"\n' + "".join(
        f'\n[[rules]]\nid = "t.{k}"\n{CASES[k][0]}\n' for k in kinds))
    calls = []
    real = runner._execute
    monkeypatch.setattr(runner, "_execute", lambda conn, query, *rest: calls.append(query) or real(conn, query, *rest))
    results = runner.run_rules(dq, load_table_file(path))
    assert len(results) == len(kinds) and len(calls) == 1


def test_missing_table_or_column_is_not_evaluated_and_a_broken_query_is_an_error(dq, tmp_path):
    path = tmp_path / "odd.toml"
    path.write_text('table = "public.dq_t"\n\n[[rules]]\nid = "t.col"\ntype = "not_null"\ncolumn = "nope"\n'
                    '\n[[rules]]\nid = "t.sql"\ntype = "custom"\nsql = "select from nowhere_at_all"\n')
    gone = tmp_path / "gone.toml"
    gone.write_text('table = "public.gone"\n\n[[rules]]\nid = "t.gone"\ntype = "not_null"\ncolumn = "a"\n')
    results = {r.check_id: r for r in runner.run_rules(dq, load_table_file(path) + load_table_file(gone))}
    assert results["t.col"].outcome is Outcome.NOT_EVALUATED and "no column nope" in results["t.col"].message
    assert results["t.gone"].outcome is Outcome.NOT_EVALUATED
    assert results["t.sql"].outcome is Outcome.ERROR


@pytest.mark.parametrize(("text", "error"), [
    ('[[rules]]\nid = "a"\ntype = "not_null"\ncolumn = "x"\n', "needs table"),
    ('table = "t"\n[[rules]]\nid = "a"\ntype = "nope"\n', "unknown rule type 'nope'"),
    ('table = "t"\n[[rules]]\nid = "a"\ntype = "range"\n', "rule a \\(range\\) needs column"),
    ('table = "t"\n[[rules]]\nid = "a"\ntype = "not_null"\ncolumn = "x"\ncolour = 1\n', "unknown keys colour"),
    ('table = "t"\n[[rules]]\nid = "a"\ntype = "not_null"\ncolumn = "x"\nseverity = "fatal"\n', "severity"),
    ('table = "t"\n[[rules]]\nid = "a"\ntype = "not_null"\ncolumn = "x"\nwindow_days = 1\n', "window_column"),
])
def test_invalid_rule_files_are_one_clear_error(tmp_path, text, error):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=error):
        load_table_file(path)


def test_duplicate_ids_and_headerless_sql_rules_are_refused(tmp_path):
    (tmp_path / "a.toml").write_text('table = "t"\n[[rules]]\nid = "x"\ntype = "not_null"\ncolumn = "c"\n')
    (tmp_path / "b.toml").write_text('table = "t"\n[[rules]]\nid = "x"\ntype = "not_null"\ncolumn = "c"\n')
    with pytest.raises(ConfigError, match=r"rule id x is also declared at a\.toml:2"):
        load_rules(tmp_path)
    (tmp_path / "b.toml").unlink()
    (tmp_path / "sql").mkdir()
    (tmp_path / "sql" / "r.sql").write_text("select 1\n")
    with pytest.raises(ConfigError, match="needs '-- id:' and '-- table:'"):
        load_rules(tmp_path)
