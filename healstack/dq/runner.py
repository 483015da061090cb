"""Run data-quality rules: as few scans as possible, results as records with evidence."""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from healstack.context import Context
from healstack.db import connect
from healstack.dq import compile as c
from healstack.dq import incremental
from healstack.dq.incremental import Mark
from healstack.dq.rules import OWN_QUERY, ROW_LEVEL, Rule, RuleType, TableFacts, load_rules
from healstack.errors import ConfigError
from healstack.results import CheckResult, Outcome
from healstack.sqlfiles import query

TIMEZONE = "America/Toronto"  # the stack's days
# Duplicate and anomaly queries group whole tables; with Postgres's default 4MB they spill to disk.
WORK_MEM = "256MB"
# Grouping millions of mostly distinct keys: sorting them is several times faster than a hash table of
# that size (measured in reports/bench/dq.md), and each parallel worker sorts its share in memory. The
# planner's default costs prefer one process sorting everything (and spilling); with Gather Merge priced
# as free it splits the sort. Tables under min_parallel_table_scan_size still run in one process.
SORTED_GROUPING = {"enable_hashagg": "off", "parallel_setup_cost": "0", "parallel_tuple_cost": "0"}
# an incremental duplicate search probes the key's index once per new row: 50,000 probes take 0.16 s on a
# 5,000,000-row table where the hash join the planner prefers reads the whole table (1.4 s)
INDEX_PROBES = {"enable_hashjoin": "off", "enable_mergejoin": "off"}



def _foreign_key(text: str) -> tuple[str, str, str, str]:
    name, column, table, to_column = text.split(":", 3)
    return column, table, to_column, name


def table_facts(conn: psycopg.Connection[Any]) -> dict[tuple[str, str], TableFacts]:
    """What the catalog guarantees about every table, by (schema, name): one query for the whole run."""
    facts = {}
    with conn.cursor(row_factory=dict_row) as cur:
        for row in cur.execute(query("healstack.dq", "table_facts")):
            facts[(row["schema"], row["name"])] = TableFacts(
                exists=True, columns=set(row["columns"]), not_null=set(row["not_null"]),
                primary_key=list(row["primary_key"]),
                unique_sets=[(frozenset(cols.split(",")), name)
                             for name, cols in (u.split(":", 1) for u in row["unique_sets"])],
                foreign_keys=[_foreign_key(fk) for fk in row["foreign_keys"]],
                fixed_width=set(row["fixed_width"]), bytewise_equal=set(row["bytewise_equal"]))
    return facts


def guaranteed_by(rule: Rule, facts: TableFacts) -> str | None:
    """The constraint that makes scanning for this rule pointless, if any (and no window narrows it)."""
    p = rule.params
    if rule.type == RuleType.NOT_NULL and p["column"] in facts.not_null:
        return f"NOT NULL on {p['column']}"
    if rule.type == RuleType.UNIQUE:
        for columns, name in facts.unique_sets:
            if columns <= frozenset(p["columns"]):
                return f"unique index {name}"
    if rule.type == RuleType.REFERENTIAL:
        target = p["to"].rpartition(".")[2]
        for column, table, to_column, name in facts.foreign_keys:
            if (column, table, to_column) == (p["column"], target, p["to_column"]):
                return f"foreign key {name}"
    return None


def _columns_used(rule: Rule) -> set[str]:
    p = rule.params
    used = set(p.get("columns", [])) | ({p["column"]} if "column" in p and rule.type != RuleType.CONSISTENCY else set())
    if rule.type == RuleType.CONSISTENCY:
        used |= set(p["key"]) | {p["column"]} | set(p.get("filter", {}))
    return used | {c for c in (rule.window_column, rule.incremental) if c}


def _result(rule: Rule, outcome: Outcome, message: str, **evidence: Any) -> CheckResult:
    column = rule.params.get("column") or ",".join(rule.params.get("columns", []))
    base = {"rule": rule.id, "type": rule.type, "declared_at": rule.source, "table": rule.table,
            "severity": rule.severity, "owner": rule.owner, "threshold": rule.threshold(), "mode": incremental.FULL}
    return CheckResult(rule.id, outcome, f"{rule.table}.{column}" if column else rule.table, message,
                       {**base, **evidence})


def judge(rule: Rule, violations: int, rows_tested: int | None, samples: list[Any] | None,
          details: dict[str, Any] | None = None) -> CheckResult:
    allowed = rule.max_violations
    if rule.max_ratio is not None and rows_tested is not None:
        allowed = int(rule.max_ratio * rows_tested)
    evidence = {"observed": violations, "rows_tested": rows_tested, "samples": samples or [],
                "details": details or {}}
    tested = f" of {rows_tested} rows" if rows_tested is not None else ""
    if violations <= allowed:
        return _result(rule, Outcome.PASSED, f"{violations} violations{tested} ({rule.threshold()})", **evidence)
    outcome = rule.severity.outcome()
    extra = ""
    if rule.type == RuleType.UNIQUE and details:
        extra = (f": {details['duplicate_groups']} duplicate groups, {details['excess_rows']} excess rows, "
                 f"{details['rows_involved']} rows involved")
    return _result(rule, outcome, f"{violations} violations{tested}{extra} ({rule.threshold()}); declared at "
                                  f"{rule.source}", **evidence)


def _scan_results(rules: list[Rule], row: dict[str, Any]) -> list[CheckResult]:
    out = []
    for i, rule in enumerate(rules):
        tested = row.get(f"t{i}", row["total"])
        if rule.type == RuleType.ROW_COUNT:
            low, high = rule.params.get("min"), rule.params.get("max")
            inside = (low is None or tested >= low) and (high is None or tested <= high)
            outcome = Outcome.PASSED if inside else rule.severity.outcome()
            message = f"{tested} rows ({rule.threshold()})" + ("" if inside else f"; declared at {rule.source}")
            out.append(_result(rule, outcome, message, observed=tested, rows_tested=tested, samples=[]))
        elif rule.type == RuleType.FRESHNESS:
            age = row[f"f{i}"]
            if age is None:
                out.append(_result(rule, Outcome.NOT_EVALUATED, "no row with a past timestamp to judge freshness",
                                   observed=None, rows_tested=tested))
                continue
            stale = float(age) > float(rule.params["max_age_hours"])
            out.append(judge(rule, int(stale), tested, [], {"latest_age_hours": round(float(age), 3)}))
        else:
            out.append(judge(rule, row[f"v{i}"], tested, row[f"s{i}"]))
    return out


def _own_result(rule: Rule, row: dict[str, Any]) -> CheckResult:
    if rule.type == RuleType.ROW_COUNT_ANOMALY:
        latest, mean, history = row["latest"], row["mean"], row["history_days"]
        if history < 7 or not mean:
            return _result(rule, Outcome.NOT_EVALUATED, f"{history} days of history; anomaly needs 7",
                           observed=latest, rows_tested=None)
        deviation = abs(latest - float(mean)) / float(mean)
        limit = float(rule.params.get("max_deviation", 0.5))
        details = {"latest_day_rows": latest, "trailing_mean": round(float(mean), 2), "deviation": round(deviation, 4)}
        return judge(rule, int(deviation > limit), None, [], details)
    return judge(rule, row["violations"], row["rows_tested"], row["samples"], row["details"])


def run_rules(conn: psycopg.Connection[Any], rules: Iterable[Rule], marks: dict[str, Mark] | None = None,
              reached: dict[str, Mark] | None = None) -> list[CheckResult]:
    """Every rule's result, in declaration order; a missing table or column is not_evaluated. With ``marks``
    (an incremental run), rules declared incremental check only the rows past their mark, and the marks they
    reach go into ``reached``."""
    by_table: dict[str, list[Rule]] = defaultdict(list)
    for rule in rules:
        by_table[rule.table].append(rule)
    results: dict[str, CheckResult] = {}
    known = table_facts(conn)
    reached = {} if reached is None else reached
    for rules_here in by_table.values():
        facts = known.get(rules_here[0].schema_table, TableFacts(exists=False))
        scans: dict[c.Since | None, list[Rule]] = defaultdict(list)  # rules that share a range share a scan
        for rule in rules_here:
            start = incremental.since(rule, marks) if marks is not None and rule.incremental else None
            missing = _columns_used(rule) - facts.columns if facts.exists else set()
            if not facts.exists:
                results[rule.id] = _result(rule, Outcome.NOT_EVALUATED, f"table {rule.table} does not exist")
            elif missing and rule.type != RuleType.CUSTOM:
                results[rule.id] = _result(rule, Outcome.NOT_EVALUATED, f"no column {', '.join(sorted(missing))}")
            elif (constraint := guaranteed_by(rule, facts)) and rule.window_column is None:
                results[rule.id] = _result(rule, Outcome.PASSED, f"passed by constraint ({constraint}); not scanned",
                                           observed=0, rows_tested=None, samples=[], constraint=constraint)
            elif rule.type in ROW_LEVEL:
                scans[start].append(rule)
            elif start is not None:
                results[rule.id] = _run_incremental(conn, rule, facts, start, reached)
            else:
                results[rule.id] = _run_own(conn, rule, facts)
        for start, scan in scans.items():
            results.update(zip((r.id for r in scan), _run_scan(conn, scan, facts, start, reached), strict=True))
    return [results[r.id] for rules_here in by_table.values() for r in rules_here]


def _incremental(rule: Rule, result: CheckResult, start: c.Since, reached_mark: Mark,
                 reached: dict[str, Mark]) -> CheckResult:
    """An incremental result says over which range it ran; its mark is kept unless the rule broke."""
    if result.outcome is not Outcome.ERROR:
        reached[rule.id] = reached_mark
    where = f"{start.column} after {start.mark}" if start.mark is not None else "first run, every row"
    return dataclasses.replace(result, message=f"{result.message} [incremental: {where}]", evidence={
        **result.evidence, "mode": incremental.INCREMENTAL, "mark_column": start.column, "after": start.mark,
        "up_to": reached_mark.mark})


def _execute(conn: psycopg.Connection[Any], query: c.Query, settings: dict[str, str] | None = None) -> dict[str, Any]:
    """The query's one row, in its own transaction with the stack's timezone and transaction-local settings."""
    statement, params = query
    local = {"timezone": TIMEZONE, "work_mem": WORK_MEM, **(settings or {})}
    with conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
        cur.execute(sql.SQL("select {}").format(sql.SQL(", ").join(
            sql.SQL("set_config({}, %s, true)").format(sql.Literal(k)) for k in local)), list(local.values()))
        cur.execute(statement, params or None)
        row = cur.fetchone()
        assert row is not None
        return row


def _run_scan(conn: psycopg.Connection[Any], rules: list[Rule], facts: TableFacts, start: c.Since | None,
              reached: dict[str, Mark]) -> list[CheckResult]:
    try:
        row = _execute(conn, c.row_scan(rules, facts, start))
    except psycopg.Error as e:
        return [_result(r, Outcome.ERROR, f"query failed: {e.diag.message_primary or e}") for r in rules]
    found = _scan_results(rules, row)
    if start is None:
        return found
    return [_incremental(rule, result, start, Mark(rule.table, start.column, row["mark"] or start.mark,
                                                   row.get(f"l{i}") or start.latest), reached)
            for i, (rule, result) in enumerate(zip(rules, found, strict=True))]


def _run_incremental(conn: psycopg.Connection[Any], rule: Rule, facts: TableFacts, start: c.Since,
                     reached: dict[str, Mark]) -> CheckResult:
    """Duplicates or references among the rows past the mark."""
    index = incremental.missing_index(conn, rule) if rule.type == RuleType.UNIQUE else None
    try:
        if rule.type == RuleType.UNIQUE:
            row = _execute(conn, incremental.unique_query(rule, facts, start, indexed=index is None),
                           None if index else INDEX_PROBES)
        else:
            row = _execute(conn, incremental.referential_query(rule, facts, start))
    except psycopg.Error as e:
        return _result(rule, Outcome.ERROR, f"query failed: {e.diag.message_primary or e}")
    result = _own_result(rule, row)
    if index:  # each new key is then found by hashing the whole table: say which index would serve it
        result = dataclasses.replace(result, message=f"{result.message}; no index serves the key: {index}",
                                     evidence={**result.evidence, "proposed_index": index})
    return _incremental(rule, result, start, Mark(rule.table, start.column, row["mark"] or start.mark, None),
                        reached)


def _run_own(conn: psycopg.Connection[Any], rule: Rule, facts: TableFacts) -> CheckResult:
    builders = {"unique": c.unique_query, "referential": c.referential_query, "consistency": c.consistency_query}
    assert rule.type in OWN_QUERY
    try:
        if rule.type in builders:
            query = builders[rule.type](rule, facts)
        elif rule.type == RuleType.ROW_COUNT_ANOMALY:
            query = c.anomaly_query(rule)
        else:
            query = c.custom_query(rule)
        return _own_result(rule, _execute(conn, query, SORTED_GROUPING if rule.type == RuleType.UNIQUE else None))
    except psycopg.Error as e:
        return _result(rule, Outcome.ERROR, f"query failed: {e.diag.message_primary or e}")


def load_marks(ctx: Context) -> dict[str, Mark]:
    """The marks the incremental rules start from (the marks table created on first use)."""
    try:
        with connect(ctx.dsn, autocommit=True) as conn:
            return incremental.load_marks(conn, load_rules(ctx.settings.dq_rules))
    except psycopg.errors.InsufficientPrivilege as e:
        raise ConfigError(f"incremental data quality keeps its marks in healstack.dq_marks, and this role cannot "
                          f"create it ({e.diag.message_primary}); run with --full (dq_mode = \"full\") or grant "
                          "CREATE on the database") from None


def data_quality(ctx: Context, marks: dict[str, Mark] | None = None,
                 reached: dict[str, Mark] | None = None) -> list[CheckResult]:
    """The DQ phase: every rule under the project's rules directory, run against the target. With ``marks``,
    incremental rules check the rows past them, and the marks they reach go into ``reached``, for the run to
    store once its results are recorded."""
    directory = ctx.settings.dq_rules
    if not directory.is_dir() and "dq_rules" not in ctx.settings.explicit:
        return [CheckResult("dq", Outcome.NOT_EVALUATED, str(directory),
                            f"no data-quality rules at {directory}: nothing to judge the data by")]
    rules = load_rules(directory)
    with connect(ctx.dsn, autocommit=True) as conn:
        results = run_rules(conn, rules, marks, reached)
    log = ctx.evidence("dq")
    for r in results:
        log.event("check", r.line(), result=r.to_dict())
    return results
