"""Lints of what a schema exposes beyond its policies (splinter's 0018, 0019, 0021-0023, 0025): column types
pg_upgrade refuses, queue tables without RLS behind pgmq's API, sensitive columns without RLS, foreign keys
into auth's unique keys, outdated extensions, public buckets whose policies let anyone list them."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterator

from healstack import catalog
from healstack.verify.facts import Facts, Finding, reachable

# pg_upgrade refuses these column types (they store OIDs a new cluster renumbers); regclass, regrole and
# regtype are carried over (splinter: unsupported_reg_types)
UNSUPPORTED_REG = frozenset({"regcollation", "regconfig", "regdictionary", "regnamespace", "regoper",
                             "regoperator", "regproc", "regprocedure"})
# names that say what a column holds (splinter: sensitive_columns_exposed), compared whole, '-' read as '_'
SENSITIVE = frozenset({
    "password", "passwd", "pwd", "passphrase", "secret", "secret_key", "private_key", "api_key", "apikey",
    "auth_key", "token", "jwt", "access_token", "refresh_token", "oauth_token", "session_token", "bearer_token",
    "auth_code", "session_id", "session_key", "session_secret", "recovery_code", "backup_code",
    "verification_code", "otp", "two_factor", "2fa_secret", "2fa_code", "ssn", "social_security",
    "social_security_number", "driver_license", "drivers_license", "license_number", "passport_number",
    "passport_id", "national_id", "tax_id", "credit_card", "card_number", "cvv", "cvc", "cvn", "bank_account",
    "account_number", "routing_number", "iban", "swift_code", "bic", "health_record", "medical_record",
    "patient_id", "insurance_number", "health_insurance", "medical_insurance", "treatment", "mac_address",
    "macaddr", "imei", "device_uuid", "pgp_key", "gpg_key", "ssh_key", "certificate", "license_key",
    "activation_key", "facial_recognition"})
# a policy on storage.objects that lets everyone list a bucket: no condition, a constant truth, or the bucket
# alone (splinter: public_bucket_allows_listing)
_CONSTANT_TRUE = frozenset({"true", "(true)", "1=1", "(1=1)"})
_BUCKET_ONLY = re.compile(r"\A\s*\(*\s*bucket_id\s*=\s*'((?:[^']|'')*)'(?:\s*::\s*[\w.]+)?\s*\)*\s*\Z", re.I)


def unsupported_reg_types(f: Facts) -> Iterator[Finding]:
    for key, column in f.snapshot["columns"].items():
        if column["type"].removesuffix("[]") in UNSUPPORTED_REG:
            yield key, f"column of type {column['type']}: pg_upgrade cannot carry it to a new major version", {}


def sensitive_columns_exposed(f: Facts) -> Iterator[Finding]:
    by_table: dict[tuple[str, str], list[str]] = defaultdict(list)
    for column in f.snapshot["columns"].values():
        if column["name"].lower().replace("-", "_") in SENSITIVE:
            by_table[(column["schema"], column["relation"])].append(column["name"])
    for t in f.tables():
        names = by_table.get((t["schema"], t["name"]))
        if names and not t["rls_enabled"] and reachable(t):
            yield t["key"], f"columns {', '.join(names)} are readable by the API roles with no RLS", \
                {"columns": names}


def _lists_bucket(policy: catalog.Record, bucket: str) -> bool:
    expr = policy["using_expr"]
    if expr is None or "".join(expr.lower().split()) in _CONSTANT_TRUE:
        return True
    match = _BUCKET_ONLY.match(expr)
    return match is not None and match.group(1).replace("''", "'") == bucket


def public_bucket_allows_listing(f: Facts) -> Iterator[Finding]:
    broad = [p for p in f.policies() if p["schema"] == "storage" and p["relation"] == "objects" and p["permissive"]
             and p["command"] in ("r", "*") and {"public", "anon", "authenticated"} & set(p["roles"])]
    for bucket in f.public_buckets:
        names = sorted(p["name"] for p in broad if _lists_bucket(p, bucket))
        if names:
            yield f"storage.buckets.{bucket}", f"public bucket: {', '.join(names)} let clients list every file " \
                "(a public bucket's object URLs need no SELECT policy)", {"policies": names}


def reference(kind: str, message: str) -> Callable[[Facts], Iterator[Finding]]:
    def find(f: Facts) -> Iterator[Finding]:
        for r in f.references:
            if r["kind"] == kind:
                yield r["key"], message.format(detail=r["detail"]), {}
    return find


def insecure_queue_exposed(f: Facts) -> Iterator[Finding]:
    """HS426 (splinter: insecure_queue_exposed_in_api). pgmq keeps each queue in a table ``pgmq.q_<name>``;
    Supabase's Queues API serves them through ``pgmq_public``, functions that read the table with the caller's
    rights, so a queue table the API roles may SELECT without RLS is readable by anyone with the anon key.
    Safe: enable RLS on the queue table (with policies), or revoke the API roles' grants."""
    for t in f.tables():
        if t["schema"] == "pgmq" and t["name"].startswith("q_") and not t["rls_enabled"] and t["api_selectable"] \
                and t["queue_api_exposed"] and f.has_schema("pgmq_public"):
            yield t["key"], "queue table without RLS, readable through the pgmq_public API", {}


def graphql_exposed(f: Facts) -> Iterator[Finding]:
    """HS427 (splinter: pg_graphql_anon_table_exposed, pg_graphql_authenticated_table_exposed). With pg_graphql
    installed, /graphql/v1 introspection shows each role every relation it may read a column of: names,
    columns, relationships, even where RLS hides every row. One finding per role, since revoking from one
    leaves the other. Safe: revoke SELECT from the role that should not see it (or drop pg_graphql)."""
    if "pg_graphql" not in f.extensions:
        return
    for r in f.relations:
        for role in r["graphql_visible_to"]:
            yield r["key"], f"{_KIND.get(r['kind'], 'relation')} visible to {role} through pg_graphql " \
                f"introspection", {"role": role}


_KIND = {"r": "table", "v": "view", "m": "materialized view", "f": "foreign table"}
