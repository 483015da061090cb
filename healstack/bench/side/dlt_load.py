"""Load the benchmark's spend rows with dlt's merge disposition, twice (first load, identical re-run).

Usage: python dlt_load.py DSN ROWS. Prints {"first_s", "rerun_s", "rerun_tuples_written"}."""

from __future__ import annotations

import importlib.util
import json
import sys
import time
from pathlib import Path

import dlt
import psycopg2

KEY = ["project", "platform", "account_id", "campaign_id", "dt"]


def _rows(count: int) -> list[dict[str, object]]:
    spec = importlib.util.spec_from_file_location("spend_rows", Path(__file__).with_name("spend_rows.py"))
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rows: list[dict[str, object]] = module.spend_rows(count)
    return rows


def _tuples_written(dsn: str) -> int:
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute("select pg_stat_force_next_flush()")
        cur.execute("select coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0) from pg_stat_user_tables"
                    " where schemaname = 'dlt_bench' and relname = 'spend'")
        return int(cur.fetchone()[0])


def main() -> None:
    dsn, count = sys.argv[1], int(sys.argv[2])
    rows = _rows(count)
    pipeline = dlt.pipeline(pipeline_name="healstack_bench", destination=dlt.destinations.postgres(dsn),
                            dataset_name="dlt_bench", pipelines_dir=sys.argv[3] if len(sys.argv) > 3 else None)
    timings = []
    for _ in range(2):
        started = time.perf_counter()
        pipeline.run(rows, table_name="spend", write_disposition="merge", primary_key=KEY)
        timings.append(time.perf_counter() - started)
        if len(timings) == 1:
            before = _tuples_written(dsn)
    print(json.dumps({"first_s": timings[0], "rerun_s": timings[1],
                      "rerun_tuples_written": _tuples_written(dsn) - before}))


if __name__ == "__main__":
    main()
