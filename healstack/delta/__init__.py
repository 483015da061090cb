"""The delta migration: exactly the statements that create what is missing and correct what differs
without destroying anything. What cannot be fixed that way is listed, never dropped."""

from __future__ import annotations

from dataclasses import dataclass, field

from healstack import catalog
from healstack.catalog import Change, Difference, Record, Snapshot
from healstack.delta import render
from healstack.migrate.files import NO_TRANSACTION

# Phases in dependency order; every statement lands in one of them.
PHASES = ("extensions", "schemas", "functions", "sequences", "tables", "columns", "constraints", "foreign keys",
          "indexes", "views", "triggers", "row level security", "policies", "grants", "default privileges")


@dataclass
class Delta:
    statements: dict[str, list[str]] = field(default_factory=lambda: {p: [] for p in PHASES})
    refused: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    differences: int = 0

    def add(self, phase: str, *statements: str) -> None:
        self.statements[phase].extend(statements)

    @property
    def count(self) -> int:
        return sum(len(s) for s in self.statements.values())


def _by_relation(snapshot: Snapshot, kind: str, schema: str, relation: str) -> list[Record]:
    return [r for r in snapshot.get(kind, {}).values() if r["schema"] == schema and r["relation"] == relation]


class _Planner:
    def __init__(self, expected: Snapshot, actual: Snapshot, online: bool) -> None:
        self.expected, self.actual, self.online = expected, actual, online
        self.delta = Delta()
        self.created: set[tuple[str, str]] = set()  # (object_kind, object) whose ACL the delta sets afresh

    def refuse(self, d: Difference, why: str) -> None:
        self.delta.refused.append(f"{d.kind} {d.key}: {why}")

    def plan(self, differences: list[Difference]) -> Delta:
        self.delta.differences = len(differences)
        # tables and views created whole: their columns come with them
        missing_tables = {(r["schema"], r["name"]) for d in differences if d.kind == "relations"
                          and d.change is Change.MISSING and (r := d.expected) is not None}
        missing_constraints = {(r["schema"], r["name"]) for d in differences if d.kind == "constraints"
                               and d.change is Change.MISSING and (r := d.expected) and r["type"] in "pux"}
        for d in differences:
            if d.change is Change.UNEXPECTED:
                self.refuse(d, "unexpected; healstack never drops, remove it by hand if it should go")
                continue
            handler = getattr(self, f"_{d.kind}")
            handler(d, missing_tables, missing_constraints)
        self._reset_acls()
        return self.delta

    def _extensions(self, d: Difference, *_: object) -> None:
        assert d.expected is not None
        if d.change is Change.MISSING:
            self.delta.add("extensions", render.create_extension(d.expected))
        else:
            self.refuse(d, f"differs ({d.describe()}); change the extension by hand")

    def _schemas(self, d: Difference, *_: object) -> None:
        assert d.expected is not None
        if d.change is Change.MISSING:
            self.delta.add("schemas", render.create_schema(d.expected))
        else:
            self.refuse(d, "owner differs; change it by hand")

    def _relations(self, d: Difference, *_: object) -> None:
        rec = d.expected
        assert rec is not None
        if d.change is Change.MISSING:
            if rec["kind"] == "r":
                columns = _by_relation(self.expected, "columns", rec["schema"], rec["name"])
                self.delta.add("tables", render.create_table(rec, columns))
                self._rls(rec, rls_enabled=False, rls_forced=False)
            elif rec["kind"] in "vm":
                self.delta.add("views", render.create_view(rec))
            elif rec["kind"] == "S" and not rec["identity_sequence"]:
                self.delta.add("sequences", render.create_sequence(rec))
            elif rec["kind"] != "S":
                self.refuse(d, "missing partitioned or foreign table; create it by hand")
                return
            self.created.add(("sequence" if rec["kind"] == "S" else "table", d.key))
            return
        assert d.actual is not None
        fields = d.fields()
        handled = {"rls_enabled", "rls_forced"}
        if rec["kind"] in "vm" and fields.keys() & {"definition", "options"}:
            self.delta.add("views", render.create_view(rec))
            handled |= {"definition", "options"}
        if rec["kind"] in "rp":
            self._rls(rec, rls_enabled=d.actual["rls_enabled"], rls_forced=d.actual["rls_forced"])
        for key in sorted(fields.keys() - handled):
            self.refuse(d, f"{key} differs (expected {fields[key][0]!r}, found {fields[key][1]!r}); fix by hand")

    def _rls(self, rec: Record, *, rls_enabled: bool, rls_forced: bool) -> None:
        if rec["rls_enabled"] and not rls_enabled:
            self.delta.add("row level security", render.enable_rls(rec, force=False))
        if rec["rls_forced"] and not rls_forced:
            self.delta.add("row level security", render.enable_rls(rec, force=True))
        if (rls_enabled and not rec["rls_enabled"]) or (rls_forced and not rec["rls_forced"]):
            self.delta.refused.append(f"relations {render.ident(rec['schema'], rec['name'])}: row level security "
                                      "is on where the migrations have it off; healstack never weakens it")

    def _columns(self, d: Difference, missing_tables: set[tuple[str, str]], *_: object) -> None:
        rec = d.expected
        assert rec is not None
        if (rec["schema"], rec["relation"]) in missing_tables:
            return
        if d.change is Change.MISSING:
            self.delta.add("columns", *render.add_column(rec))
            return
        fields = d.fields()
        fixed = set()
        if "default_expr" in fields and rec["default_expr"] is not None and not rec["generated"]:
            self.delta.add("columns", render.set_default(rec))
            fixed.add("default_expr")
        if "not_null" in fields and rec["not_null"]:
            self.delta.add("columns", render.set_not_null(rec))
            fixed.add("not_null")
        for key in sorted(fields.keys() - fixed):
            self.refuse(d, f"{key} differs (expected {fields[key][0]!r}, found {fields[key][1]!r}); "
                           "fixing it would rewrite or loosen the column")

    def _constraints(self, d: Difference, missing_tables: set[tuple[str, str]], *_: object) -> None:
        rec = d.expected
        assert rec is not None
        phase = "foreign keys" if rec["type"] == "f" else "constraints"
        if d.change is Change.MISSING:
            self.delta.add(phase, *render.add_constraint(rec, online=self.online))
        elif set(d.fields()) == {"validated"} and rec["validated"]:
            self.delta.add(phase, render.validate_constraint(rec))
        else:
            self.refuse(d, f"definition differs ({d.describe()}); replacing it needs a DROP")

    def _indexes(self, d: Difference, _tables: object, missing_constraints: set[tuple[str, str]]) -> None:
        rec = d.expected
        assert rec is not None
        if (rec["schema"], rec["name"]) in missing_constraints:
            return  # created by its constraint
        if d.change is Change.MISSING:
            self.delta.add("indexes", render.create_index(rec, online=self.online))
        elif set(d.fields()) == {"valid"} and rec["valid"]:
            self.delta.add("indexes", render.reindex(rec, online=self.online))
        else:
            self.refuse(d, f"definition differs ({d.describe()}); replacing it needs a DROP")

    def _policies(self, d: Difference, *_: object) -> None:
        rec = d.expected
        assert rec is not None
        if d.change is Change.MISSING:
            self.delta.add("policies", render.create_policy(rec))
        elif d.fields().keys() <= {"roles", "using_expr", "with_check_expr"}:
            self.delta.add("policies", render.alter_policy(rec))
        else:
            self.refuse(d, f"command or permissiveness differs ({d.describe()}); replacing it needs a DROP")

    def _functions(self, d: Difference, *_: object) -> None:
        rec = d.expected
        assert rec is not None
        if rec["definition"] is None or (d.change is Change.DIFFERENT and "owner" in d.fields()):
            self.refuse(d, "aggregate, or owner differs; fix by hand")
            return
        self.delta.add("functions", render.create_function(rec))
        if d.change is Change.MISSING:
            self.created.add(("function", d.key))

    def _triggers(self, d: Difference, *_: object) -> None:
        rec = d.expected
        assert rec is not None
        if rec["definition"].upper().startswith("CREATE CONSTRAINT TRIGGER"):
            self.refuse(d, "constraint trigger differs; replacing it needs a DROP")
            return
        if d.change is Change.MISSING or "definition" in d.fields():
            self.delta.add("triggers", render.create_trigger(rec))
        if rec["enabled"] != "O" or (d.actual and d.actual["enabled"] != rec["enabled"]):
            self.delta.add("triggers", render.trigger_enabled(rec))

    def _grants(self, d: Difference, *_: object) -> None:
        rec = d.expected
        assert rec is not None
        if (rec["object_kind"], rec["object"]) not in self.created:
            self.delta.add("grants", render.grant(rec))

    def _default_privileges(self, d: Difference, *_: object) -> None:
        assert d.expected is not None
        self.delta.add("default privileges", render.default_privilege(d.expected))

    def _reset_acls(self) -> None:
        """Objects the delta creates get exactly the expected privileges, whatever defaults gave them."""
        if not self.created:
            return
        grants = list(self.expected.get("grants", {}).values())
        owners = {r["owner"] for kind in ("relations", "functions") for r in self.expected.get(kind, {}).values()}
        grantees = sorted(({g["grantee"] for g in grants} | {"public"}) - owners)
        for object_kind, obj in sorted(self.created):
            self.delta.add("grants", render.revoke_all(object_kind, obj, grantees))
            # the owner's own privileges are implicit and survive the revoke
            self.delta.add("grants", *(render.grant(g) for g in grants if g["grantee"] not in owners and (
                (g["object_kind"], g["object"]) == (object_kind, obj)
                or (object_kind == "table" and g["object_kind"] == "column" and g["object"].startswith(obj + ".")))))


def plan_delta(expected: Snapshot, actual: Snapshot, *, online: bool = False) -> Delta:
    return _Planner(expected, actual, online).plan(catalog.diff(expected, actual))


def render_delta(delta: Delta, *, online: bool = False, source: str = "") -> str:
    """The delta as a migration file: header, statements by phase, refusals as a comment block."""
    lines = [f"-- healstack delta: {delta.count} statements for {delta.differences} differences{source}.",
             "-- Every statement is idempotent; nothing is dropped."]
    if online:
        lines += [NO_TRANSACTION, "-- Online: indexes are built concurrently, foreign keys validated separately."]
    lines += ["set lock_timeout = '5s';", "set check_function_bodies = off;"]
    for phase in PHASES:
        if delta.statements[phase]:
            lines += ["", f"-- {phase}", *delta.statements[phase]]
    if delta.refused:
        lines += ["", "-- NOT FIXED: these differences need a destructive or manual change:",
                  *(f"--   {line}" for line in delta.refused)]
    return "\n".join(lines) + "\n"


def fix_for(expected: Snapshot, actual: Snapshot, difference: Difference, *, online: bool = False,
            ) -> tuple[list[str], list[str]]:
    """The delta statements that mend one difference, and why it cannot be mended without a DROP if so: the
    remedy a ticket or report shows beside the difference (``online``: the form the doctor runs, concurrent
    index builds and foreign keys validated apart)."""
    delta = _Planner(expected, actual, online).plan([difference])
    return [s for phase in PHASES for s in delta.statements[phase]], delta.refused
