"""The database audits PgHero and `supabase inspect db` run, as checks: one query per audit (healstack/health/sql),
each returning the rows you do not want, as (object, detail). Thresholds reach the queries as session settings
(`healstack.<name>`), so every file also runs as it is in psql after `set healstack.<name> = ...`."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import psycopg

from healstack import registry
from healstack.health.declaration import Thresholds
from healstack.results import CheckResult, Outcome
from healstack.sqlfiles import query


@dataclass(frozen=True)
class Audit:
    check_id: str
    sql: str        # healstack/health/sql/<sql>.sql
    finding: str    # the message of one row, formatted with its detail
    passing: str    # the message when no row comes back, formatted with the thresholds
    needs_history: bool = False  # judged only on usage statistics older than unused_index_min_days

    def result(self, obj: str, detail: Mapping[str, Any]) -> CheckResult:
        spec = registry.spec(self.check_id)
        if detail.get("not_evaluated"):
            return CheckResult(self.check_id, Outcome.NOT_EVALUATED, obj, str(detail["not_evaluated"]), detail)
        if detail.get("passed"):  # an audit that reports every object, the good ones too
            return CheckResult(self.check_id, Outcome.PASSED, obj, self.finding.format(**detail), detail)
        message = f"{self.finding.format(**detail)}; fix: {spec.remedy}"
        return CheckResult(self.check_id, spec.severity.outcome(), obj, message, detail)


AUDITS = (
    Audit("HS801", "unused_indexes", "{size} on {table}, not used once in {statistics_days} days of statistics",
          "no unused index of {unused_index_min_bytes} bytes or more", needs_history=True),
    Audit("HS802", "sequential_scans", "{percent}% of {seq_scan} scans are sequential on {rows} rows "
          "({rows_per_scan} rows read per scan)",
          "no table of {seq_scan_min_rows} rows or more is mostly scanned sequentially"),
    Audit("HS803", "bloat", "{kind} with about {size} ({percent}%) of its pages wasted",
          "no table or index wastes more than {bloat_max_percent}% and {bloat_min_bytes} bytes"),
    Audit("HS804", "cache_hit", "{percent}% of block reads served from the cache ({reads} from disk)",
          "tables and indexes are served from the cache ({cache_hit_min_percent}% or more)"),
    Audit("HS805", "vacuum", "{why}: {dead} dead of {rows} rows (threshold {threshold}); last vacuum "
          "{last_vacuum}, last analyze {last_analyze}", "autovacuum keeps up with every table"),
    Audit("HS806", "dead_tuples", "{dead} dead rows, {percent}% of the table",
          "no table's dead rows exceed {dead_tuple_max_percent}%"),
    Audit("HS807", "wraparound", "{percent}% of transaction IDs used ({xid_age}; {left} left before writes stop)",
          "transaction ID headroom above {xid_age_max_percent}% used nowhere"),
    Audit("HS808", "sequences", "at {last_value} of {limit} ({percent}%), filling {column}",
          "every sequence is below {sequence_max_percent}% of its limit"),
    Audit("HS809", "long_queries", "running {seconds} s as {user}: {query}",
          "no statement has run longer than {long_query_seconds} s"),
    Audit("HS810", "idle_transactions", "{state} for {seconds} s as {user}; last: {query}",
          "no session idles in a transaction longer than {idle_in_transaction_seconds} s"),
    Audit("HS811", "blocking", "waiting {seconds} s on a lock held by {blocked_by}: {query}",
          "no session waits on a lock longer than {blocked_seconds} s"),
    Audit("HS812", "connections", "{used} of {allowed} connections in use ({percent}%)",
          "connections below {connections_max_percent}% of the server's limit"),
    Audit("HS813", "not_valid_constraints", "{kind} constraint NOT VALID: {definition}",
          "every constraint is validated"),
)


def set_thresholds(conn: psycopg.Connection[Any], thresholds: Thresholds) -> None:
    """Each threshold as the transaction-local setting healstack.<name> the audit queries read."""
    values = dataclasses.asdict(thresholds)
    conn.execute("select " + ", ".join(["set_config(%s, %s, true)"] * len(values)),
                 [v for name, value in values.items() for v in (f"healstack.{name}", str(value))])


def run_audits(conn: psycopg.Connection[Any], thresholds: Thresholds) -> list[CheckResult]:
    """Every audit on one connection, in one transaction (its thresholds set once)."""
    results = []
    limits = dataclasses.asdict(thresholds)
    with conn.transaction():
        set_thresholds(conn, thresholds)
        row = conn.execute(query("healstack.health", "statistics_age")).fetchone()
        days = round(float(row[0]), 1) if row else 0.0
        for audit in AUDITS:
            if audit.needs_history and days < thresholds.unused_index_min_days:
                results.append(CheckResult(audit.check_id, Outcome.NOT_EVALUATED, "database", (
                    f"usage statistics cover {days} days, fewer than {thresholds.unused_index_min_days}: an index "
                    "a weekly job uses would look unused"), {"statistics_days": days}))
                continue
            rows = conn.execute(query("healstack.health", audit.sql)).fetchall()
            found = [audit.result(str(obj), {**detail, "statistics_days": days}) for obj, detail in rows]
            results += found or [CheckResult(audit.check_id, Outcome.PASSED, "database",
                                             audit.passing.format(**limits))]
    return results
