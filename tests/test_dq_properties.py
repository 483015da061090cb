"""Property: each compiled rule finds exactly what a plain Python evaluation of the same rule finds, on
generated tables with nulls, duplicates, boundary values, mixed time zones and future rows."""

from __future__ import annotations

import re
from collections import Counter
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from psycopg.conninfo import make_conninfo

from healstack.db import connect, throwaway_database
from healstack.dq.rules import load_table_file
from healstack.dq.runner import run_rules
from healstack.results import Outcome

RULES = """table = "public.prop_t"

[[rules]]
id = "p.not_null"
type = "not_null"
column = "a"

[[rules]]
id = "p.accepted"
type = "accepted_values"
column = "a"
values = ["x", "y"]

[[rules]]
id = "p.range"
type = "range"
column = "n"
min = 0
max = 10

[[rules]]
id = "p.regex"
type = "regex"
column = "a"
pattern = "^[a-z]+$"

[[rules]]
id = "p.future"
type = "future_dates"
column = "ts"
tolerance_minutes = 5

[[rules]]
id = "p.fresh"
type = "freshness"
column = "ts"
max_age_hours = 1

[[rules]]
id = "p.unique"
type = "unique"
columns = ["grp", "a"]
"""

ROWS = st.lists(st.tuples(
    st.one_of(st.none(), st.sampled_from(["x", "y", "z", "X", "a1", "", "xy"])),
    st.one_of(st.none(), st.sampled_from(["g1", "g2"])),
    st.one_of(st.none(), st.sampled_from([Decimal("-0.01"), Decimal(0), Decimal("3.5"), Decimal(10),
                                          Decimal("10.01"), Decimal(-50)])),
    st.one_of(st.none(), st.sampled_from([-1440, -120, -61, -59, -1, 0, 60, 1440])),   # minutes from now
    st.sampled_from(["UTC", "America/Toronto", "Asia/Kolkata", "Pacific/Chatham"]),     # zone it was written in
), max_size=12)


@pytest.fixture(scope="module")
def prop_db(pg_server, migrated_template, tmp_path_factory):
    path = tmp_path_factory.mktemp("dq") / "prop.toml"
    path.write_text(RULES)
    with throwaway_database(pg_server, "dq_properties", template=migrated_template) as dsn:
        with connect(dsn, autocommit=True) as conn:
            conn.execute("create table public.prop_t (id int primary key, a text, grp text, n numeric,"
                         " ts timestamptz)")
        yield make_conninfo(dsn), load_table_file(path)


def expected(rows) -> dict[str, int | None]:
    a_values = [r[0] for r in rows]
    offsets = [r[3] for r in rows if r[3] is not None]
    past = [o for o in offsets if o <= 0]
    groups = Counter((r[1], r[0]) for r in rows if r[0] is not None and r[1] is not None)
    return {
        "p.not_null": sum(a is None for a in a_values),
        "p.accepted": sum(a is not None and a not in ("x", "y") for a in a_values),
        "p.range": sum(r[2] is not None and (r[2] < 0 or r[2] > 10) for r in rows),
        "p.regex": sum(a is not None and not re.fullmatch("[a-z]+", a) for a in a_values),
        "p.future": sum(o > 5 for o in offsets),
        "p.fresh": None if not past else int(-max(past) > 60),
        "p.unique": sum(n - 1 for n in groups.values() if n > 1),
    }


@pytest.mark.slow
@given(rows=ROWS)
def test_compiled_rules_match_python(prop_db, rows):
    dsn, rules = prop_db
    with connect(dsn) as conn, conn.transaction(force_rollback=True):
        for i, (a, grp, n, offset, zone) in enumerate(rows):
            # written as wall-clock time of some zone, in a session of that zone: only the instant counts
            conn.execute("select set_config('timezone', %s, true)", [zone])
            conn.execute("insert into public.prop_t values (%s, %s, %s, %s, ((now() + make_interval(mins => %s))"
                         " at time zone %s)::timestamp at time zone %s)",
                         [i, a, grp, n, offset, zone, zone])
        results = {r.check_id: r for r in run_rules(conn, rules)}
    for rule_id, violations in expected(rows).items():
        result = results[rule_id]
        if violations is None:
            assert result.outcome is Outcome.NOT_EVALUATED, rule_id
        else:
            assert result.evidence["observed"] == violations, (rule_id, result.message)
            assert (result.outcome is Outcome.PASSED) == (violations == 0), rule_id
