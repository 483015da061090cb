"""Load pages: unchanged rows skipped by their stored hash, new rows COPYed in, the rest staged by COPY and
merged with one INSERT ... ON CONFLICT ... WHERE ... IS DISTINCT FROM; the source's cursor is saved in the
same transaction, so a crash between batches loses and duplicates nothing."""

from __future__ import annotations

import json
import operator
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb
from xxhash import xxh3_128_digest

from healstack.errors import ConfigError
from healstack.etl.copy_text import copy_line
from healstack.etl.metrics import mark_dirty, order_day, spend_day


@dataclass(frozen=True)
class TableSpec:
    table: str
    keys: tuple[str, ...]
    columns: tuple[str, ...]            # everything a source provides, keys included
    scope: str                          # the day-like column whose window bounds the stored hashes a run reads
    newer_wins: str | None = None       # a re-pulled older version never overwrites a newer one
    json_columns: frozenset[str] = frozenset()
    day_of: Callable[[dict[str, Any]], str] | None = None  # the metrics day a row counts on, if metrics read it

    @property
    def values(self) -> tuple[str, ...]:
        return tuple(c for c in self.columns if c not in self.keys)

    @property
    def stored(self) -> tuple[str, ...]:
        """What a merge compares and rewrites: the values and the hash of what the source sent."""
        return (*self.values, "source_hash")


SPECS = {
    "events": TableSpec("events", ("project", "event_id"),
                        ("project", "event_id", "name", "user_id", "occurred_at", "properties", "source"),
                        scope="occurred_at", json_columns=frozenset({"properties"})),
    "spend": TableSpec("spend", ("project", "platform", "account_id", "campaign_id", "dt"),
                       ("project", "platform", "account_id", "campaign_id", "dt", "account_timezone", "currency",
                        "spend", "impressions", "clicks", "conversions", "conversion_value"), scope="dt",
                       day_of=spend_day),
    "orders": TableSpec("orders", ("project", "shop_domain", "order_id"),
                        ("project", "shop_domain", "order_id", "order_name", "placed_at", "source_updated_at",
                         "cancelled_at", "financial_status", "currency", "total_price", "subtotal_price",
                         "total_tax", "total_discounts", "total_refunded", "customer_id", "line_items"),
                        scope="placed_at", newer_wins="source_updated_at", json_columns=frozenset({"line_items"}),
                        day_of=order_day),
}


@dataclass
class Counts:
    fetched: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    pages: int = 0
    warnings: list[str] = field(default_factory=list)
    progress: float | None = None  # the share of the window read, where the source knows it

    def add(self, inserted: int, updated: int, unchanged: int) -> None:
        self.inserted += inserted
        self.updated += updated
        self.unchanged += unchanged


@dataclass(frozen=True)
class Sent:
    """What one COPY sent: the hashes of the rows written, how many rows were skipped as known, and the
    metrics days of the rows written."""

    hashes: list[bytes]
    known: int
    days: set[str]


def _ids(names: tuple[str, ...], prefix: str = "") -> sql.Composed:
    return sql.SQL(", ").join(sql.SQL(prefix) + sql.Identifier(n) for n in names)


# A row's hash: xxh3-128 of its COPY line. It recognises rows a source sent before, so it needs no
# resistance to forgery (a source could change its own data openly), only 128 bits against chance.
HASH_BYTES = 16

_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"))
# json.dumps with options builds a new encoder per call, and JSONEncoder.encode a new C encoder: one C encoder
# reused for every value is 2.4x faster. No circular-reference check: values come from parsed JSON.
_MAKE_ENCODER: Callable[..., Callable[[Any, int], list[str]]] | None = getattr(json.encoder, "c_make_encoder", None)
_C_ENCODER = _MAKE_ENCODER and _MAKE_ENCODER(
    None, _CANONICAL.default, json.encoder.encode_basestring_ascii, None, ":", ",", True, False, True)


def _canonical_json(value: Any) -> str | None:
    if value is None:
        return None
    return "".join(_C_ENCODER(value, 0)) if _C_ENCODER else _CANONICAL.encode(value)


class Loader:
    """Loads one run's pages into one table.

    A row whose hash (of everything the source sent for it) is already stored is unchanged and is not sent
    at all. The rest of a page goes straight into the table by COPY while every row is new (the first load);
    from the first page that meets an existing row on, pages are staged in a temp table and merged with
    INSERT ... ON CONFLICT ... DO UPDATE ... WHERE ... IS DISTINCT FROM, so an identical row is never
    rewritten.

    While every row is new, a long page is COPYed half by this connection and half by a helper one (given
    as a factory): Postgres spends most of a first load inserting index entries, and a second backend does
    that on another core."""

    # pages shorter than this are not worth a second connection
    SPLIT_PAGES_FROM = 10_000
    # rows per write to the server (about 100 kB of spend rows): large enough that sending costs little per
    # row, small enough that Postgres starts inserting while Python formats the rest of the page
    COPY_BATCH_ROWS = 1_000

    def __init__(self, conn: psycopg.Connection[Any], spec: TableSpec, known: set[bytes] | None = None,
                 helper: Callable[[], psycopg.Connection[Any]] | None = None) -> None:
        self.conn, self.spec = conn, spec
        self._open_helper = helper
        self._helper: psycopg.Connection[Any] | None = None
        self.target = sql.Identifier("public", spec.table)
        self.known = known if known is not None else set()
        self.direct = True
        self._get = operator.itemgetter(*spec.columns)
        self._key = operator.itemgetter(*spec.keys)
        self._json = {i for i, c in enumerate(spec.columns) if c in spec.json_columns}

    def close(self) -> None:
        if self._helper is not None:
            self._helper.close()
            self._helper = None

    @classmethod
    def for_window(cls, conn: psycopg.Connection[Any], spec: TableSpec, since: date, until: date,
                   helper: Callable[[], psycopg.Connection[Any]] | None = None) -> Loader:
        """A loader that knows the stored hashes of rows near the window (a day of slack either side for
        time zones); rows outside it are merely compared in the database instead of skipped."""
        # one value holding every hash, cut up here: half the time of fetching a million one-hash rows
        query = sql.SQL("select string_agg(source_hash, ''::bytea) from {} where length(source_hash) = %s"
                        " and {} >= %s::date - 1 and {} < %s::date + 2").format(
            sql.Identifier("public", spec.table), sql.Identifier(spec.scope), sql.Identifier(spec.scope))
        with conn.cursor(binary=True) as cur:
            row = cur.execute(query, [HASH_BYTES, since, until]).fetchone()
        hashes = row[0] if row and row[0] else b""
        known = {hashes[i:i + HASH_BYTES] for i in range(0, len(hashes), HASH_BYTES)}
        return cls(conn, spec, known, helper)

    def _last_per_key(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The last row per natural key: one statement may not upsert a key twice."""
        try:
            keys = list(map(self._key, rows))
        except KeyError:  # a row without a key column: it fails in the database, with the column's name
            return rows
        latest = dict(zip(keys, rows, strict=True))
        return rows if len(latest) == len(rows) else list(latest.values())

    def _write(self, table: sql.Composable, rows: Iterable[dict[str, Any]],
               conn: psycopg.Connection[Any] | None = None) -> Sent:
        """COPY the rows whose hash is not known into ``table``.

        A row's hash is that of its COPY line, the very bytes sent for it; a JSON value is serialised
        once, canonically (sorted keys), inside that line. Lines go out in batches, so Python formats and
        hashes while Postgres inserts the previous batch."""
        written: list[bytes] = []
        days: set[str] = set()
        known = 0
        batch: list[bytes] = []
        get, seen, day_of = self._get, self.known, self.spec.day_of
        statement = sql.SQL("copy {} ({}, source_hash) from stdin").format(table, _ids(self.spec.columns))
        with (conn or self.conn).cursor().copy(statement) as copy:
            for row in rows:
                try:
                    values = get(row)
                except KeyError:  # a source left an optional column out of this row
                    values = tuple(row.get(c) for c in self.spec.columns)
                if self._json:
                    as_list = list(values)
                    for i in self._json:
                        as_list[i] = _canonical_json(as_list[i])
                    values = tuple(as_list)
                line = copy_line(values)
                digest = xxh3_128_digest(line)
                if digest in seen:
                    known += 1
                    continue
                batch.append(b"%s\t\\\\x%s\n" % (line, digest.hex().encode()))  # bytea as hex, backslash escaped
                written.append(digest)
                if day_of is not None:
                    days.add(day_of(row))
                if len(batch) == self.COPY_BATCH_ROWS:
                    copy.write(b"".join(batch))
                    batch.clear()
            if batch:
                copy.write(b"".join(batch))
        return Sent(written, known, days)

    def load(self, rows: list[dict[str, Any]], *, dry_run: bool = False) -> tuple[int, int, int]:
        """(inserted, updated, unchanged) for one page, inside the caller's transaction.

        A page that repeats a key cannot be COPYed straight in (the primary key refuses the second row), so
        it goes to the merge, which keeps the last row per key."""
        if self.direct and not dry_run:
            try:
                sent = self._write_direct(rows)
                self.known.update(sent.hashes)
                return len(sent.hashes), 0, sent.known
            except (psycopg.errors.UniqueViolation, psycopg.errors.FeatureNotSupported):
                # a row exists (or COPY may not write there: row-level security applies to this role)
                self.direct = False
        self.conn.execute(sql.SQL("create temp table healstack_stage on commit drop as"
                                  " select {}, source_hash from {} with no data").format(
                                      _ids(self.spec.columns), self.target))
        sent = self._write(sql.Identifier("healstack_stage"), self._last_per_key(rows))
        if not sent.hashes:
            return 0, 0, sent.known
        inserted, updated, same = self._preview() if dry_run else self._merge()
        if not dry_run:
            self.known.update(sent.hashes)
            if inserted or updated:
                mark_dirty(self.conn, sent.days)
        return inserted, updated, same + sent.known

    def _write_direct(self, rows: list[dict[str, Any]]) -> Sent:
        """COPY straight into the table, in a savepoint; a long page split with the helper connection. Each
        connection records the days of the rows it wrote in the transaction that writes them.

        The helper commits its half just before the caller commits the other half with the source's cursor.
        A crash in between leaves rows without a cursor: the resumed run finds them by their stored hash
        (unchanged) and loads the rest, so nothing is lost or doubled; their days were recorded with them."""
        if self._open_helper is None or len(rows) < self.SPLIT_PAGES_FROM:
            with self.conn.transaction():
                sent = self._write(self.target, rows)
                mark_dirty(self.conn, sent.days)
                return sent
        if self._helper is None:
            try:
                self._helper = self._open_helper()
            except ConfigError:  # e.g. no connection slot left: load with this connection alone
                self._open_helper = None
                return self._write_direct(rows)
        helper = self._helper
        theirs: list[Sent] = []
        failed: list[BaseException] = []

        def other_half() -> None:
            try:
                theirs.append(self._write(self.target, rows[1::2], helper))
                mark_dirty(helper, theirs[0].days)
            except BaseException as e:  # re-raised by the main thread below
                failed.append(e)

        thread = threading.Thread(target=other_half, name="healstack-copy-helper")
        try:
            with self.conn.transaction():
                thread.start()
                try:
                    ours = self._write(self.target, rows[0::2])
                    mark_dirty(self.conn, ours.days)
                finally:
                    thread.join()
                if failed:
                    raise failed[0]
                helper.commit()
        except BaseException:
            helper.rollback()
            raise
        [mine] = theirs
        return Sent(ours.hashes + mine.hashes, ours.known + mine.known, ours.days | mine.days)

    def _changed(self, incoming: str) -> sql.Composed:
        """The stored row t differs from the incoming one (and the incoming one is not older)."""
        stored = self.spec.stored
        changed = sql.SQL("({}) is distinct from ({})").format(_ids(stored, "t."), _ids(stored, incoming + "."))
        if self.spec.newer_wins:
            guard = sql.Identifier(self.spec.newer_wins)
            changed = sql.SQL("{}.{} >= t.{} and {}").format(sql.SQL(incoming), guard, guard, changed)
        return changed

    def _merge(self) -> tuple[int, int, int]:
        """(inserted, updated, unchanged) of the staged rows; an identical row is not rewritten."""
        assignments = sql.SQL(", ").join(sql.SQL("{} = excluded.{}").format(sql.Identifier(c), sql.Identifier(c))
                                         for c in self.spec.stored)
        query = sql.SQL(
            "with written as (insert into {target} as t ({cols}, source_hash)"
            " select {cols}, source_hash from healstack_stage"
            " on conflict ({keys}) do update set {assignments}, updated_at = now()"
            " where {changed} returning (t.xmax = 0) as inserted)"
            " select count(*) filter (where inserted), count(*) filter (where not inserted),"
            " (select count(*) from healstack_stage) from written"
        ).format(target=self.target, cols=_ids(self.spec.columns), keys=_ids(self.spec.keys),
                 assignments=assignments, changed=self._changed("excluded"))
        return self._tally(query)

    def _preview(self) -> tuple[int, int, int]:
        """What _merge() would do, without writing: (would insert, would update, unchanged)."""
        on = sql.SQL(" and ").join(sql.SQL("t.{} = s.{}").format(sql.Identifier(k), sql.Identifier(k))
                                   for k in self.spec.keys)
        query = sql.SQL(
            "select count(*) filter (where t.{first} is null), count(*) filter (where t.{first} is not null and"
            " {changed}), count(*) from healstack_stage as s left join {target} as t on {on}"
        ).format(first=sql.Identifier(self.spec.keys[0]), changed=self._changed("s"), target=self.target, on=on)
        return self._tally(query)

    def _tally(self, query: sql.Composed) -> tuple[int, int, int]:
        """(inserted, updated, unchanged) from a query counting the rows inserted, updated and staged."""
        row = self.conn.execute(query).fetchone()
        assert row is not None
        inserted, updated, total = row
        return inserted, updated, total - inserted - updated


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
