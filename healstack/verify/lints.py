"""Static security and performance lints over the live catalog (Supabase splinter's set, and more).

Each lint is a finder under a registry id (healstack/registry.py: name, severity, remedy); an error fails,
a warning warns, and a finding can be waived per object in a committed waiver file with a reason.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from healstack import catalog, registry
from healstack.registry import CheckSpec
from healstack.results import CheckResult, Outcome
from healstack.verify import exposure
from healstack.verify.facts import Facts, Finding, reachable
from healstack.verify.policy_expr import analyse


def _policy_key(p: catalog.Record) -> str:
    return f"{p['schema']}.{p['relation']}.{p['name']}"


def _rls_disabled_in_public(f: Facts) -> Iterator[Finding]:
    for t in f.tables():
        if not t["rls_enabled"] and reachable(t):
            yield t["key"], "RLS is disabled on a table the API roles can reach", {}


def _policy_exists_rls_disabled(f: Facts) -> Iterator[Finding]:
    for t in f.tables():
        if not t["rls_enabled"] and t["policies"]:
            yield t["key"], f"{t['policies']} policies exist but RLS is disabled, so none applies", {}


def _rls_enabled_no_policy(f: Facts) -> Iterator[Finding]:
    for t in f.tables():
        if t["rls_enabled"] and not t["policies"]:
            yield t["key"], "RLS is enabled but no policy exists: every API query sees nothing", {}


def _rls_not_forced(f: Facts) -> Iterator[Finding]:
    for t in f.tables():
        if t["rls_enabled"] and not t["rls_forced"] and not t["owner_bypasses_rls"]:
            yield t["key"], "RLS is not forced, so the table owner's own queries skip the policies", {}


API_ROLES = frozenset({"public", "anon", "authenticated"})


def _always_true_policy(f: Facts) -> Iterator[Finding]:
    """Permissive policies of the API roles whose condition is constant-true. A SELECT policy USING (true) is
    a public read by intent (splinter's rls_policy_always_true leaves it alone too); a restrictive one admits
    nothing by itself."""
    for p in f.policies():
        if not set(p["roles"]) & API_ROLES or p["command"] == "r" or not p["permissive"] or \
                (p["schema"], p["relation"]) not in f.rls_tables:  # with RLS off no policy applies: HS402's
            continue
        for clause in ("using_expr", "with_check_expr"):
            if analyse(p[clause]).always_true:
                yield _policy_key(p), f"{clause.removesuffix('_expr').replace('_', ' ').upper()} (true) for " \
                    f"{', '.join(p['roles'])}: every row passes", {"command": p["command"]}


def _write_policy_without_check(f: Facts) -> Iterator[Finding]:
    """An INSERT policy without WITH CHECK admits no row at all. An UPDATE policy without one is checked by
    its USING expression (Postgres applies it to the new row too), so it is no finding."""
    for p in f.policies():
        if p["command"] == "a" and p["with_check_expr"] is None:
            yield _policy_key(p), "INSERT policy without WITH CHECK: it admits no row", {}


def _policy_uses_user_metadata(f: Facts) -> Iterator[Finding]:
    for p in f.policies():
        if analyse(p["using_expr"]).reads_user_metadata or analyse(p["with_check_expr"]).reads_user_metadata:
            yield _policy_key(p), "policy reads user_metadata, which every user can edit for themselves", {}


def _security_invoker(view: dict[str, Any]) -> bool:
    """security_invoker as Postgres takes it: on, true, yes or 1, in any case."""
    return any(o.split("=", 1)[0].lower() == "security_invoker" and o.split("=", 1)[-1].lower() in _TRUE
               for o in view["options"])


_TRUE = frozenset({"on", "true", "yes", "1"})


def _security_definer_view(f: Facts) -> Iterator[Finding]:
    """A view the API reaches that runs as its owner over rows the API roles could not read themselves: an
    RLS table, or a table they have no SELECT on (a private schema)."""
    for v in f.relations:
        if v["kind"] == "v" and v["reads_guarded_tables"] and not _security_invoker(v) and reachable(v):
            yield v["key"], f"view runs as its owner over {', '.join(v['reads_guarded_tables'])}", {}


def _definer_function_exposed(f: Facts) -> Iterator[Finding]:
    """A trigger function is left out: Postgres runs it only as a trigger, nobody can call it through the API."""
    for fn in f.functions:
        if fn["security_definer"] and not fn["trigger_function"]:
            for role in fn["api_executable"]:  # one finding per role: revoking from one leaves the other
                yield fn["key"], f"SECURITY DEFINER function executable by {role}", {"role": role}


def _mutable_search_path(f: Facts) -> Iterator[Finding]:
    for fn in f.functions:
        if not fn["pins_search_path"] and fn["language"] not in ("internal", "c"):
            yield fn["key"], "search_path is not pinned: callers can shadow the objects it uses", {}


def _auth_per_row(f: Facts) -> Iterator[Finding]:
    """Only where the policies apply: with RLS off they are HS402's finding, and cost nothing."""
    for p in f.policies():
        if (p["schema"], p["relation"]) not in f.rls_tables:
            continue
        calls = analyse(p["using_expr"]).per_row_calls + analyse(p["with_check_expr"]).per_row_calls
        if calls:
            yield _policy_key(p), f"{', '.join(sorted(set(calls)))} evaluated once per row", {"calls": list(calls)}


def _index_finding(kind: str, message: str) -> Callable[[Facts], Iterator[Finding]]:
    def find(f: Facts) -> Iterator[Finding]:
        for row in f.index_findings:
            if row["finding"] == kind:
                yield row["key"], message.format(detail=row["detail"]), {"detail": row["detail"]}
    return find


def _no_primary_key(f: Facts) -> Iterator[Finding]:
    for t in f.tables():
        if not t["has_primary_key"]:
            yield t["key"], "table has no primary key", {}


def _extension_in_public(f: Facts) -> Iterator[Finding]:
    for key, ext in f.snapshot["extensions"].items():
        if ext["schema"] == "public":
            yield key, "extension installed in schema public, where the API exposes its objects", {}


def _invalid_index(f: Facts) -> Iterator[Finding]:
    for key, idx in f.snapshot["indexes"].items():
        if not idx["valid"]:
            yield key, "index is invalid (a failed concurrent build): not used, still maintained", {}


def _auth_users_exposed(f: Facts) -> Iterator[Finding]:
    """An invoker view reads auth.users with the caller's rights: exposure only where those reach it anyway."""
    for v in f.relations:
        invoker = v["kind"] == "v" and _security_invoker(v)
        if v["kind"] in ("v", "m") and v["reads_auth_users"] and reachable(v) and (
                not invoker or v["auth_users_open"]):
            yield v["key"], "view exposes auth.users to the API roles", {}


def _multiple_permissive(f: Facts) -> Iterator[Finding]:
    groups: dict[tuple[str, str, str, str], list[str]] = defaultdict(list)
    for p in f.policies():
        if not p["permissive"]:
            continue
        commands = ("r", "a", "w", "d") if p["command"] == "*" else (p["command"],)
        roles = {r for role in p["roles"] for r in (("anon", "authenticated") if role == "public" else (role,))}
        for role in sorted(roles):  # a policy for PUBLIC applies to each API role: both pay for it
            for command in commands:
                groups[(p["schema"], p["relation"], role, command)].append(p["name"])
    for (schema, relation, role, command), names in sorted(groups.items()):
        if len(names) > 1:
            yield f"{schema}.{relation}", f"{len(names)} permissive policies for {role} on command {command}: " \
                f"{', '.join(sorted(names))} are all evaluated", {"role": role, "command": command}


def _relation_in_api(kind: str, what: str) -> Callable[[Facts], Iterator[Finding]]:
    def find(f: Facts) -> Iterator[Finding]:
        for r in f.relations:
            if r["kind"] == kind and reachable(r):
                yield r["key"], f"{what} reachable by the API roles (RLS does not apply to it)", {}
    return find


@dataclass(frozen=True)
class Lint:
    """A lint's finder; its name, severity and remedy are its registry entry's."""

    id: str
    find: Callable[[Facts], Iterator[Finding]]

    @property
    def spec(self) -> CheckSpec:
        return registry.spec(self.id)


LINTS = [Lint(*pair) for pair in (
    ("HS401", _rls_disabled_in_public),
    ("HS402", _policy_exists_rls_disabled),
    ("HS403", _rls_enabled_no_policy),
    ("HS404", _rls_not_forced),
    ("HS405", _always_true_policy),
    ("HS406", _write_policy_without_check),
    ("HS407", _policy_uses_user_metadata),
    ("HS408", _security_definer_view),
    ("HS409", _definer_function_exposed),
    ("HS410", _mutable_search_path),
    ("HS411", _auth_per_row),
    ("HS412", _index_finding("unindexed_fk", "foreign key without a covering index: {detail}")),
    ("HS413", _index_finding("duplicate_index", "duplicates index {detail}")),
    ("HS414", _no_primary_key),
    ("HS415", _extension_in_public),
    ("HS416", _invalid_index),
    ("HS417", _auth_users_exposed),
    ("HS418", _multiple_permissive),
    ("HS419", _relation_in_api("m", "materialized view")),
    ("HS420", _relation_in_api("f", "foreign table")),
    ("HS421", exposure.unsupported_reg_types),
    ("HS422", exposure.sensitive_columns_exposed),
    ("HS423", exposure.reference("fkey_to_auth_unique",
                                 "foreign key to {detail}, a unique key Supabase Auth may change")),
    ("HS424", exposure.reference("extension_outdated", "extension is older than this server offers: {detail}")),
    ("HS425", exposure.public_bucket_allows_listing),
    ("HS426", exposure.insecure_queue_exposed),
    ("HS427", exposure.graphql_exposed),
)]


def run_lint(lint: Lint, facts: Facts, waivers: dict[tuple[str, str], str]) -> list[CheckResult]:
    spec = lint.spec
    results = []
    for obj, message, evidence in lint.find(facts):
        evidence = {**evidence, "lint": spec.name, "level": spec.severity.value, "remediation": spec.remedy}
        reason = waivers.get((lint.id, obj))
        if reason:
            results.append(CheckResult(lint.id, Outcome.PASSED, obj, f"waived: {reason} ({message})", evidence))
        else:
            results.append(CheckResult(lint.id, spec.severity.outcome(), obj, f"{message}; fix: {spec.remedy}",
                                       evidence))
    return results or [CheckResult(lint.id, Outcome.PASSED, spec.name, "no findings")]
