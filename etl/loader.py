"""Load pages: COPY into a staging table, one INSERT ... ON CONFLICT ... WHERE ... IS DISTINCT FROM, and the
source's cursor saved in the same transaction, so a crash between batches loses and duplicates nothing."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from healstack.errors import ConfigError


@dataclass(frozen=True)
class TableSpec:
    table: str
    keys: tuple[str, ...]
    columns: tuple[str, ...]            # everything a source provides, keys included
    newer_wins: str | None = None       # a re-pulled older version never overwrites a newer one

    @property
    def values(self) -> tuple[str, ...]:
        return tuple(c for c in self.columns if c not in self.keys)


SPECS = {
    "events": TableSpec("events", ("project", "event_id"),
                        ("project", "event_id", "name", "user_id", "occurred_at", "properties", "source")),
    "spend": TableSpec("spend", ("project", "platform", "account_id", "campaign_id", "dt"),
                       ("project", "platform", "account_id", "campaign_id", "dt", "account_timezone", "currency",
                        "spend", "impressions", "clicks", "conversions", "conversion_value")),
    "orders": TableSpec("orders", ("project", "shop_domain", "order_id"),
                        ("project", "shop_domain", "order_id", "order_name", "placed_at", "source_updated_at",
                         "cancelled_at", "financial_status", "currency", "total_price", "subtotal_price",
                         "total_tax", "total_discounts", "total_refunded", "customer_id", "line_items"),
                        newer_wins="source_updated_at"),
}


@dataclass
class Counts:
    fetched: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    pages: int = 0
    warnings: list[str] = field(default_factory=list)

    def add(self, inserted: int, updated: int, unchanged: int) -> None:
        self.inserted += inserted
        self.updated += updated
        self.unchanged += unchanged


def _ids(names: tuple[str, ...], prefix: str = "") -> sql.Composed:
    return sql.SQL(", ").join(sql.SQL(prefix) + sql.Identifier(n) for n in names)


class Batch:
    """One page's rows staged in a temp table (dropped at commit) and merged into the target."""

    def __init__(self, conn: psycopg.Connection[Any], spec: TableSpec) -> None:
        self.conn, self.spec = conn, spec
        self.target = sql.Identifier("public", spec.table)

    def stage(self, rows: list[dict[str, Any]]) -> None:
        self.conn.execute(sql.SQL("create temp table healstack_stage on commit drop as"
                                  " select {}, 0::bigint as seq from {} with no data").format(
                                      _ids(self.spec.columns), self.target))
        with self.conn.cursor().copy(sql.SQL("copy healstack_stage ({}, seq) from stdin").format(
                _ids(self.spec.columns))) as copy:
            for seq, row in enumerate(rows):
                copy.write_row([Jsonb(v) if isinstance(v, dict | list) else v
                                for v in (row.get(c) for c in self.spec.columns)] + [seq])

    def _latest(self) -> sql.Composed:
        """The staged rows, the last one per natural key."""
        return sql.SQL("select distinct on ({keys}) {cols} from healstack_stage order by {keys}, seq desc").format(
            keys=_ids(self.spec.keys), cols=_ids(self.spec.columns))

    def _changed(self, incoming: str) -> sql.Composed:
        """The stored row t differs from the incoming one (and the incoming one is not older)."""
        changed = sql.SQL("({}) is distinct from ({})").format(_ids(self.spec.values, "t."),
                                                               _ids(self.spec.values, incoming + "."))
        if self.spec.newer_wins:
            guard = sql.Identifier(self.spec.newer_wins)
            changed = sql.SQL("{}.{} >= t.{} and {}").format(sql.SQL(incoming), guard, guard, changed)
        return changed

    def merge(self) -> tuple[int, int, int]:
        """(inserted, updated, unchanged); an identical row is not rewritten."""
        assignments = sql.SQL(", ").join(sql.SQL("{} = excluded.{}").format(sql.Identifier(c), sql.Identifier(c))
                                         for c in self.spec.values)
        query = sql.SQL(
            "with s as ({latest}),"
            " written as (insert into {target} as t ({cols}) select {cols} from s"
            " on conflict ({keys}) do update set {assignments}, updated_at = now()"
            " where {changed} returning (t.xmax = 0) as inserted)"
            " select count(*) filter (where inserted), count(*) filter (where not inserted),"
            " (select count(*) from s) from written"
        ).format(latest=self._latest(), target=self.target, cols=_ids(self.spec.columns), keys=_ids(self.spec.keys),
                 assignments=assignments, changed=self._changed("excluded"))
        row = self.conn.execute(query).fetchone()
        assert row is not None
        inserted, updated, total = row
        return inserted, updated, total - inserted - updated

    def preview(self) -> tuple[int, int, int]:
        """What merge() would do, without writing: (would insert, would update, unchanged)."""
        on = sql.SQL(" and ").join(sql.SQL("t.{} = s.{}").format(sql.Identifier(k), sql.Identifier(k))
                                   for k in self.spec.keys)
        query = sql.SQL(
            "select count(*) filter (where t.{first} is null), count(*) filter (where t.{first} is not null and"
            " {changed}), count(*) from ({latest}) as s left join {target} as t on {on}"
        ).format(first=sql.Identifier(self.spec.keys[0]), changed=self._changed("s"), latest=self._latest(),
                 target=self.target, on=on)
        row = self.conn.execute(query).fetchone()
        assert row is not None
        would_insert, would_update, total = row
        return would_insert, would_update, total - would_insert - would_update


def save_cursor(conn: psycopg.Connection[Any], source: str, cursor: dict[str, Any]) -> None:
    conn.execute("insert into public.etl_cursors (source, cursor_state) values (%s, %s)"
                 " on conflict (source) do update set cursor_state = excluded.cursor_state"
                 " where etl_cursors.cursor_state is distinct from excluded.cursor_state",
                 [source, Jsonb(cursor)])


def load_cursor(conn: psycopg.Connection[Any], source: str) -> dict[str, Any] | None:
    row = conn.execute("select cursor_state from public.etl_cursors where source = %s", [source]).fetchone()
    return row[0] if row else None


def lock_source(conn: psycopg.Connection[Any], source: str) -> None:
    """One run per source at a time: a second one is turned away with a clear message."""
    row = conn.execute("select pg_try_advisory_lock(hashtextextended(%s, 0))", [f"healstack-etl:{source}"]).fetchone()
    if not (row and row[0]):
        raise ConfigError(f"another run of {source} is in progress against this database; try again when it ends")
