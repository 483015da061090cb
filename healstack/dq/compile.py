"""Compile rules to SQL: the row-level rules of a table into one aggregate scan (FILTER clauses), the
others into one query each. Identifiers through psycopg.sql, values as parameters.

Every query returns the same shape per rule: violations, rows tested, up to 20 sample rows keyed by
the primary key, and details (jsonb).
"""

from __future__ import annotations

from typing import Any

from psycopg import sql

from healstack.dq.rules import Rule, TableFacts

SAMPLES = 20
Query = tuple[sql.Composed, list[Any]]


def _id(name: str) -> sql.Identifier:
    return sql.Identifier(name)


def _table(rule: Rule) -> sql.Identifier:
    return sql.Identifier(*rule.schema_table)


def sample_expr(facts: TableFacts, column: str | None, alias: str = "") -> sql.Composable:
    """jsonb of the row's primary key (and the offending column) for a sample."""
    prefix = sql.SQL(alias + ".") if alias else sql.SQL("")
    keys = list(dict.fromkeys([*facts.primary_key, *([column] if column else [])]))
    parts = [sql.SQL("{}, {}{}").format(sql.Literal(k), prefix, _id(k)) for k in keys]
    return sql.SQL("jsonb_build_object({})").format(sql.SQL(", ").join(parts))


def _window(rule: Rule, params: list[Any]) -> sql.Composable:
    if rule.window_column is None:
        return sql.SQL("true")
    params.append(float(rule.window_days or 0) * 86400)
    return sql.SQL("{} >= now() - make_interval(secs => %s)").format(_id(rule.window_column))


def violation(rule: Rule, params: list[Any]) -> sql.Composable:
    """The condition a violating row meets, for the row-level rule types."""
    p, column = rule.params, _id(rule.params.get("column", ""))
    if rule.type == "not_null":
        return sql.SQL("{} is null").format(column)
    if rule.type == "accepted_values":
        params.append([str(v) for v in p["values"]])
        return sql.SQL("{} is not null and {}::text <> all(%s::text[])").format(column, column)
    if rule.type == "range":
        bounds = []
        for key, op in (("min", "<"), ("max", ">")):
            if key in p:
                params.append(p[key])
                bounds.append(sql.SQL("{} {} %s").format(column, sql.SQL(op)))
        return sql.SQL("({})").format(sql.SQL(" or ").join(bounds) if bounds else sql.SQL("false"))
    if rule.type == "regex":
        params.append(p["pattern"])
        return sql.SQL("{} is not null and {}::text !~ %s").format(column, column)
    if rule.type == "future_dates":
        params.append(float(p.get("tolerance_minutes", 5)) * 60)
        return sql.SQL("{} > now() + make_interval(secs => %s)").format(column)
    raise ValueError(f"{rule.type} is not a row-level violation")


def row_scan(rules: list[Rule], facts: TableFacts) -> Query:
    """One pass over the table for all its row-level rules; columns: total, then per rule i
    t{i} (rows tested), v{i} (violations), s{i} (samples) or f{i} (freshness age in hours)."""
    params: list[Any] = []
    parts: list[sql.Composable] = [sql.SQL("count(*) as total")]
    for i, rule in enumerate(rules):
        window = _window(rule, params)
        parts.append(sql.SQL("count(*) filter (where {}) as {}").format(window, _id(f"t{i}")))
        if rule.type == "row_count":
            continue
        if rule.type == "freshness":
            column = _id(rule.params["column"])
            window = _window(rule, params)
            parts.append(sql.SQL("extract(epoch from now() - max({}) filter (where {} and {} <= now())) / 3600"
                                 " as {}").format(column, window, column, _id(f"f{i}")))
            continue
        for name, template in ((f"v{i}", "count(*) filter (where {} and {}) as {}"),
                               (f"s{i}", "(array_agg({}) filter (where {} and {}))[1:" + str(SAMPLES) + "] as {}")):
            window = _window(rule, params)
            condition = violation(rule, params)
            if name.startswith("v"):
                parts.append(sql.SQL(template).format(window, condition, _id(name)))
            else:
                sample = sample_expr(facts, rule.params.get("column"))
                parts.append(sql.SQL(template).format(sample, window, condition, _id(name)))
    query = sql.SQL("select {} from {}").format(sql.SQL(", ").join(parts), _table(rules[0]))
    return query, params


def unique_query(rule: Rule, facts: TableFacts) -> Query:
    """Duplicate groups in one scan: groups, excess rows, rows involved, and sample groups.

    Grouping is the cost (a hash table as large as the number of distinct keys), so each group carries
    only its key columns, a count and two primary keys; JSON is built for duplicate groups alone."""
    params: list[Any] = []
    columns = [_id(c) for c in rule.params["columns"]]
    key = _id(facts.primary_key[0]) if facts.primary_key else sql.SQL("ctid")
    sample = sql.SQL("jsonb_build_object({}, 'rows', n, 'first_key', first_key, 'last_key', last_key)").format(
        sql.SQL(", ").join(sql.SQL("{}, {}").format(sql.Literal(c), _id(c)) for c in rule.params["columns"]))
    window = _window(rule, params)
    query = sql.SQL(
        "with g as (select {cols}, count(*) as n, min({key})::text as first_key, max({key})::text as last_key"
        " from {table} where {window} and {not_null} group by {cols})"
        " select coalesce(sum(n - 1) filter (where n > 1), 0) as violations, coalesce(sum(n), 0) as rows_tested,"
        " (array_agg({sample}) filter (where n > 1))[1:{limit}] as samples,"
        " jsonb_build_object('duplicate_groups', count(*) filter (where n > 1),"
        " 'excess_rows', coalesce(sum(n - 1) filter (where n > 1), 0),"
        " 'rows_involved', coalesce(sum(n) filter (where n > 1), 0)) as details from g"
    ).format(cols=sql.SQL(", ").join(columns), key=key, table=_table(rule), window=window,
             not_null=sql.SQL(" and ").join(sql.SQL("{} is not null").format(c) for c in columns),
             sample=sample, limit=sql.Literal(SAMPLES))
    return query, params


def referential_query(rule: Rule, facts: TableFacts) -> Query:
    params: list[Any] = []
    p = rule.params
    schema, _, name = p["to"].rpartition(".")
    parent = sql.Identifier(schema or "public", name)
    window = _window(rule, params)
    query = sql.SQL(
        "select count(*) filter (where c.{col} is not null and p.k is null) as violations, count(*) as rows_tested,"
        " (array_agg({sample}) filter (where c.{col} is not null and p.k is null))[1:{n}] as samples,"
        " '{{}}'::jsonb as details"
        " from {child} as c left join (select distinct {to_col} as k from {parent}) as p on p.k = c.{col}"
        " where {window}"
    ).format(col=_id(p["column"]), sample=sample_expr(facts, p["column"], "c"), n=sql.Literal(SAMPLES),
             child=_table(rule), to_col=_id(p["to_column"]), parent=parent, window=window)
    return query, params


def consistency_query(rule: Rule, facts: TableFacts) -> Query:
    """Rows whose value differs from the sum of the matching rows of another table by more than tolerance."""
    p = rule.params
    params: list[Any] = []
    schema, _, name = p["to"].rpartition(".")
    on = sql.SQL(" and ").join(sql.SQL("l.{} = r.{}").format(_id(a), _id(f"k{i}"))
                               for i, a in enumerate(p["key"]))
    keys = sql.SQL(", ").join(sql.SQL("{} as {}").format(_id(b), _id(f"k{i}")) for i, b in enumerate(p["to_key"]))
    group = sql.SQL(", ").join(_id(b) for b in p["to_key"])
    filters: list[sql.Composable] = [_window(rule, params)]
    for column, value in p.get("filter", {}).items():
        params.append(value)
        filters.append(sql.SQL("l.{} = %s").format(_id(column)))
    params.append(float(p.get("tolerance", 0)))
    differs = sql.SQL("abs(coalesce(l.{}, 0) - coalesce(r.v, 0)) > %s").format(_id(p["column"]))
    query = sql.SQL(
        "select count(*) filter (where {differs}) as violations, count(*) as rows_tested,"
        " (array_agg({sample} || jsonb_build_object('expected', coalesce(r.v, 0))) filter (where {differs}))[1:{n}]"
        " as samples, '{{}}'::jsonb as details"
        " from {left} as l left join (select {keys}, sum({to_col}) as v from {right} group by {group}) as r on {on}"
        " where {filters}"
    ).format(differs=differs, sample=sample_expr(facts, p["column"], "l"), n=sql.Literal(SAMPLES),
             left=_table(rule), keys=keys, to_col=_id(p["to_column"]), right=sql.Identifier(schema or "public", name),
             group=group, on=on, filters=sql.SQL(" and ").join(filters))
    # the tolerance placeholder sits in `differs`, which appears twice before the filters
    tolerance = params.pop()
    return query, [tolerance, tolerance, *params]


def anomaly_query(rule: Rule) -> Query:
    """Rows on the latest complete day against the mean of the days before it."""
    days = int(rule.params.get("days", 14))
    column = _id(rule.params["column"])
    query = sql.SQL(
        "with daily as (select date_trunc('day', {col})::date as d, count(*) as n from {table}"
        " where {col} >= current_date - %s and {col} < current_date group by 1)"
        " select coalesce((select n from daily where d = current_date - 1), 0) as latest,"
        " (select avg(n) from daily where d < current_date - 1) as mean,"
        " (select count(*) from daily where d < current_date - 1) as history_days"
    ).format(col=column, table=_table(rule))
    return query, [days + 1]


def custom_query(rule: Rule) -> Query:
    return sql.SQL(
        "select count(*) as violations, null::bigint as rows_tested,"
        " (array_agg(to_jsonb(v)))[1:{}] as samples, '{{}}'::jsonb as details from ({}) as v"
    ).format(sql.Literal(SAMPLES), sql.SQL(rule.params["sql"])), []  # type: ignore[arg-type]
