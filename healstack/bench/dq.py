"""DQ benchmark: six rules on a 5,000,000-row events table, as a ratio to a sequential count(*)."""

from __future__ import annotations

import statistics
import tempfile
from functools import partial
from pathlib import Path
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict

from healstack.bench import BENCH_SERVER, median_of, run_side, settle, timed, write_report
from healstack.config import Settings
from healstack.db import connect, create_database
from healstack.dq.incremental import Mark
from healstack.dq.rules import Rule, RuleType, load_table_file
from healstack.dq.runner import run_rules
from healstack.embedded import EmbeddedServer, default_bindir

ROWS = 5_000_000
TARGET_RATIO = 10.0
RULES = """table = "public.dq_bench"
[[rules]]
id = "bench.user_id_not_null"
type = "not_null"
column = "user_id"
[[rules]]
id = "bench.name_not_null"
type = "not_null"
column = "name"
[[rules]]
id = "bench.no_duplicate_triples"
type = "unique"
columns = ["user_id", "name", "occurred_at"]
[[rules]]
id = "bench.not_in_future"
type = "future_dates"
column = "occurred_at"
[[rules]]
id = "bench.fresh"
type = "freshness"
column = "occurred_at"
max_age_hours = 26
[[rules]]
id = "bench.name_known"
type = "accepted_values"
column = "name"
values = ["page_view", "add_to_cart", "purchase", "search"]
"""

# ~1% null user ids, a duplicate triple every 5,000 rows, five rows a day in the future
SEED = """
create table public.dq_bench (id bigint primary key, user_id text, name text, occurred_at timestamptz,
    properties jsonb not null default '{}');
insert into public.dq_bench (id, user_id, name, occurred_at)
select g,
       case when g % 100 = 0 then null else 'u' || ((g - (g % 5000 = 3)::int) % 100000) end,
       (array['page_view', 'add_to_cart', 'purchase', 'search'])[1 + (g - (g % 5000 = 3)::int) % 4],
       case when g % 1000000 = 7 then now() + interval '1 day'
            else now() - make_interval(secs => (g - (g % 5000 = 3)::int)) end
from generate_series(1, %s) as g;
"""


def _rules_file(text: str) -> Path:
    path = Path(tempfile.mkdtemp(prefix="healstack-dq-bench-")) / "bench.toml"
    path.write_text(text)
    return path


def _seq_count(conn: psycopg.Connection[Any]) -> float:
    with conn.transaction():
        conn.execute("set local enable_indexscan = off; set local enable_indexonlyscan = off;"
                     " set local enable_bitmapscan = off")
        return timed(lambda: conn.execute("select count(*) from public.dq_bench").fetchone())


def _soda(dsn: str, baseline: float, ours: float) -> list[str]:
    """Soda Core on the same table, if the bench session could install it in a side environment."""
    info = conninfo_to_dict(dsn)
    out = run_side("HEALSTACK_SODA_PYTHON", "soda_scan.py", str(info["host"]), str(info["port"]),
                   str(info["dbname"]), "3")
    if isinstance(out, str):
        return [f"Soda Core: {out}."]
    with_s, without_s = statistics.median(out["with_samples"]), statistics.median(out["without_samples"])
    return [
        "Soda Core 3.5 on the same table in the same run (the same six checks in SodaCL; `Scan.execute()` "
        "timed alone, median of 3):", "",
        "| measure | seconds | ratio to count(*) |", "|---|---|---|",
        f"| Soda Core, failed-row samples on | {with_s:.3f} | {with_s / baseline:.1f}x |",
        f"| Soda Core, `samples limit: 0` | {without_s:.3f} | {without_s / baseline:.1f}x |", "",
        f"healstack, samples on, takes {ours / with_s:.0%} of Soda's time with samples and "
        f"{ours / without_s:.0%} of its time without. Soda's freshness check counts the rows dated tomorrow "
        "as the latest (its negative age below); healstack's ignores them and reports them by future_dates.", "",
        f"Soda observed: {'; '.join(f'{k}: {v}' for k, v in out['observed'].items())}.",
    ]


BATCH = 50_000
# a batch of new rows past the table's last id: every 500th repeats an old row's triple (a duplicate
# spanning old and new rows), every 1,000th lacks its user id
BATCH_SEED = """
insert into public.dq_bench (id, user_id, name, occurred_at)
select g,
       case when o.id is not null then o.user_id when g % 1000 = 1 then null else 'u' || (g % 100000) end,
       case when o.id is not null then o.name else (array['page_view', 'add_to_cart', 'purchase', 'search'])[1 + g % 4]
       end,
       case when o.id is not null then o.occurred_at else now() - make_interval(secs => g % 3600) end
from generate_series({start} + 1, {start} + {n}) as g
left join public.dq_bench as o on g % 500 = 0 and o.id = g - {start} - 1
"""
GROW = SEED.split(";", 1)[1].replace("from generate_series(1, %s)", "from generate_series({start} + 1, {end})")


def _incremental(conn: psycopg.Connection[Any], rules: list[Rule], size: int) -> dict[str, Any]:
    """Marks taken on a table of ``size`` rows, a batch of new rows, then the six rules incremental (median
    of 3 from the same marks) against count(*) of the whole table."""
    marks: dict[str, Mark] = {}
    run_rules(conn, rules, {}, marks)
    conn.execute(BATCH_SEED.format(start=size, n=BATCH).encode())
    conn.execute("vacuum analyze public.dq_bench")
    settle(conn)
    baseline, _ = median_of(3, lambda: _seq_count(conn))
    seconds, samples = median_of(3, lambda: timed(lambda: run_rules(conn, rules, dict(marks), {})))
    probes = [r for r in rules if r.type == RuleType.UNIQUE]
    dup_s, _ = median_of(3, lambda: timed(lambda: run_rules(conn, probes, dict(marks), {})))
    found = {r.check_id: r.evidence.get("observed") for r in run_rules(conn, rules, dict(marks), {})}
    expected = conn.execute(
        "select count(*) filter (where user_id is null), (select coalesce(sum(n - 1), 0) from (select count(*) as n"
        " from public.dq_bench o join (select distinct user_id, name, occurred_at from public.dq_bench where id > %s)"
        " k using (user_id, name, occurred_at) group by user_id, name, occurred_at having count(*) > 1) g)"
        " from public.dq_bench where id > %s", [size, size]).fetchone()
    agree = expected == (found["bench.user_id_not_null"], found["bench.no_duplicate_triples"])
    return {"baseline": baseline, "seconds": seconds, "samples": samples, "found": found, "expected": expected,
            "agree": agree, "duplicates": dup_s}


def run(settings: Settings) -> Path:
    rules = load_table_file(_rules_file(RULES))
    server = EmbeddedServer(settings.pg_bindir or default_bindir(), settings=BENCH_SERVER).start()
    try:
        dsn = create_database(server.dsn(), "dq_bench")
        with connect(dsn, autocommit=True) as conn:
            conn.execute(SEED.replace("%s", str(ROWS)).encode())
            conn.execute("vacuum analyze public.dq_bench")
            settle(conn)  # or the checkpointer writes the load's dirty buffers during the first measures
            baseline, base_samples = median_of(3, lambda: _seq_count(conn))
            together, samples = median_of(3, lambda: timed(lambda: run_rules(conn, rules)))
            separate, _ = median_of(3, lambda: sum(timed(partial(run_rules, conn, [r])) for r in rules))
            row_level = [r for r in rules if r.type != RuleType.UNIQUE]
            duplicates = [r for r in rules if r.type == RuleType.UNIQUE]
            scan_only, _ = median_of(3, lambda: timed(lambda: run_rules(conn, row_level)))
            dup_only, _ = median_of(3, lambda: timed(lambda: run_rules(conn, duplicates)))
            results = run_rules(conn, rules)
            soda = _soda(dsn, baseline, together)
            inc_rules = load_table_file(_rules_file(RULES.replace("\n[[rules]]", '\nincremental = "id"\n[[rules]]')
                                                    + 'incremental = "id"\n'))
            index_s = timed(lambda: conn.execute("create index on public.dq_bench (user_id, name, occurred_at)"))
            small = _incremental(conn, inc_rules, ROWS)
            conn.execute(GROW.format(start=ROWS + BATCH, end=2 * ROWS).encode())
            large = _incremental(conn, inc_rules, 2 * ROWS)
    finally:
        server.stop()
    found = "; ".join(f"{r.check_id.split('.', 1)[1]}: {r.evidence.get('observed')}" for r in results)
    ratio = together / baseline
    lines = [
        f"Table: {ROWS:,} rows (about 1% null user ids, a duplicate (user_id, name, occurred_at) triple every "
        "5,000 rows, five rows dated tomorrow). Rules: two not_null, duplicates on the triple, future_dates, "
        "freshness, accepted_values; samples on (up to 20 rows each, keyed by primary key).",
        "",
        "| measure | seconds, median of 3 | ratio to count(*) | target |", "|---|---|---|---|",
        f"| `select count(*)`, sequential scan forced | {baseline:.3f} ({', '.join(f'{s:.3f}' for s in base_samples)})"
        " | 1.0x | |",
        f"| healstack: all six rules (one scan for the row-level five, one for duplicates) | {together:.3f} "
        f"({', '.join(f'{s:.3f}' for s in samples)}) | {ratio:.1f}x | <= {TARGET_RATIO:.0f}x "
        f"{'met' if ratio <= TARGET_RATIO else 'MISSED'} |",
        f"| the same six rules run one query each | {separate:.3f} | {separate / baseline:.1f}x | |",
        f"| of which: the five row-level rules, one scan | {scan_only:.3f} | {scan_only / baseline:.1f}x | |",
        f"| of which: duplicates on the triple | {dup_only:.3f} | {dup_only / baseline:.1f}x | |",
        "",
        f"Observed: {found}.",
        "",
        "How: the five row-level rules share one parallel aggregate scan that keeps only the ctids of "
        "violating rows and reads the 20 samples back by ctid. Duplicates are found by a parallel sort, not a "
        "hash table (measured by hand on this table: building a hash table of 5,000,000 mostly distinct keys "
        "took about 3.5 s), with text compared bytewise (COLLATE \"C\", exact for deterministic collations), "
        "the fixed-width column first, and only duplicate groups leaving the grouping. The gap to 10x is that "
        "sort: three processes each sort a third of the rows, then one merges and groups all 5,000,000.",
        "",
        *soda,
        "",
        "## Incremental (the nightly run)",
        "",
        f"The same six rules declared `incremental = \"id\"`: marks taken by a first run, then a batch of {BATCH:,} "
        "new rows (a duplicate of an old row's triple every 500, a missing user id every 1,000), then the rules "
        "from those marks (median of 3), against a sequential count(*) of the whole table measured after the "
        f"batch. The duplicate search needs an index on the triple (built once in {index_s:.1f} s; a run without "
        "it says so and proposes it).",
        "",
        "| table | count(*) | incremental six rules | ratio | target |", "|---|---|---|---|---|",
        *[f"| {size:,} + {BATCH:,} rows | {m['baseline']:.3f} s | {m['seconds']:.3f} s "
          f"({', '.join(f'{x:.3f}' for x in m['samples'])}) | {m['seconds'] / m['baseline']:.2f}x | <= 0.5x "
          f"{'met' if m['seconds'] / m['baseline'] <= 0.5 else 'MISSED'} |"
          for size, m in ((ROWS, small), (2 * ROWS, large))],
        "",
        f"Growth: {large['seconds'] / small['seconds']:.2f}x the incremental time for twice the table "
        "(target: flat within noise).",
        "",
        f"Where the time goes: the duplicate search alone takes {small['duplicates']:.3f} s and "
        f"{large['duplicates']:.3f} s of it. The five row-level rules read the new rows through the primary key; "
        f"the duplicate search probes the triple's index once per new row ({BATCH:,} probes of a few "
        "microseconds each, on both cores). Those probes, not the table, set the floor: a whole-table count(*) "
        "is a few tens of nanoseconds per row, so the probes cost about what counting a few million rows does, "
        "and the ratio falls as the table grows while the incremental time stays nearly flat.",
        "",
        *[f"Findings on the {size:,}-row table's batch: incremental {m['found']}; counted in SQL over the whole "
          f"table: {m['expected'][0]} null user ids among the new rows, {m['expected'][1]} excess rows in duplicate "
          f"groups holding a new row ({'the same' if m['agree'] else 'DIFFERENT'})."
          for size, m in ((ROWS, small), (2 * ROWS, large))],
    ]
    return write_report(settings.reports_dir, "dq", "Data-quality benchmark", lines)


def main() -> None:
    print(run(Settings.for_cli()).read_text())
