"""The loader builds COPY lines itself: whatever a source sends must reach Postgres unchanged, and one row
always gives the same line (its hash is how a re-run recognises it)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from healstack.db import connect, throwaway_database
from healstack.etl.copy_text import copy_line

# text as sources send it, weighted towards what COPY gives a meaning to. No NUL and no lone surrogate:
# Postgres text cannot hold them, and a row with one fails its load (as it did through the driver)
SPECIALS = st.sampled_from("\\\t\n\r\b\f\v,|\"' NaN")
TEXT = st.text(alphabet=st.one_of(SPECIALS, st.characters(codec="utf-8", exclude_characters="\x00")))
ROWS = st.lists(st.tuples(
    st.one_of(st.none(), TEXT),
    st.one_of(st.none(), st.integers(min_value=-2**63, max_value=2**63 - 1)),
    st.one_of(st.none(), st.decimals(allow_nan=False, allow_infinity=False, places=4,
                                     min_value=-10**9, max_value=10**9)),
    st.one_of(st.none(), st.booleans()),
    st.one_of(st.none(), TEXT),
), max_size=8)


@pytest.fixture(scope="module")
def copy_db(pg_server):
    with throwaway_database(pg_server, "copy_text") as dsn:
        yield dsn


@pytest.mark.slow
@given(rows=ROWS)
def test_every_value_round_trips_through_copy(copy_db, rows):
    with connect(copy_db) as conn, conn.transaction(force_rollback=True):
        conn.execute("create temp table t (n int, a text, b bigint, c numeric, d boolean, e text)")
        with conn.cursor().copy("copy t from stdin") as copy:
            for n, row in enumerate(rows):
                copy.write(copy_line((str(n), *row)) + b"\n")
        back = conn.execute("select a, b, c, d, e from t order by n").fetchall()
    assert back == rows


def test_a_row_gives_one_line_whichever_path_formats_it():
    # all strings take the join; a None, a number or an escape the per-field path: same bytes either way
    assert copy_line(("a", "1", "2.50")) == b"a\t1\t2.50"
    assert copy_line(("a", 1, Decimal("2.50"))) == b"a\t1\t2.50"
    assert copy_line(("a\tb", None, True, "c\\d\ne\r")) == b"a\\tb\t\\N\tt\tc\\\\d\\ne\\r"
