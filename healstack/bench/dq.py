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
from healstack.dq.rules import RuleType, load_table_file
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


def run(settings: Settings) -> Path:
    path = Path(tempfile.mkdtemp(prefix="healstack-dq-bench-")) / "bench.toml"
    path.write_text(RULES)
    rules = load_table_file(path)
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
    ]
    return write_report(settings.reports_dir, "dq", "Data-quality benchmark", lines)


def main() -> None:
    print(run(Settings.for_cli()).read_text())
