"""Run a statement exactly as PostgREST does, and say what happened: allowed, filtered or rejected.

One transaction per request: search_path, role and the JWT claims are set with set_config(..., true)
(transaction-local), the statement runs, and the transaction is rolled back, so a probe never changes
the database. The connection is made as the target's own user (Supabase's `postgres`), which switches to
each API role as PostgREST's `authenticator` does, and which may also write what a probe needs first and
the API roles may not: users in `auth.users`, rows of private schemas.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

from healstack.db import connect
from healstack.errors import ConfigError

SEARCH_PATH = "public, extensions"


@dataclass(frozen=True)
class Identity:
    """Who a request runs as: a database role and the JWT claims PostgREST would set."""

    name: str
    role: str
    claims: dict[str, Any] = field(default_factory=dict)

    def claims_json(self) -> str:
        return json.dumps({"role": self.role, **self.claims})  # PostgREST always sets "role"


def anon() -> Identity:
    return Identity("anon", "anon", {})


def tenant_user(project: str, scope: str | None = None, *, forged_project: str | None = None) -> Identity:
    """A signed-in user of one project (and scope). ``forged_project`` goes in user_metadata, which
    users can edit themselves: a policy that trusts it lets them read another tenant."""
    app_metadata: dict[str, Any] = {"project": project, "provider": "email"}
    if scope is not None:
        app_metadata["scope"] = scope
    user_metadata = {"project": forged_project, "scope": forged_project} if forged_project else {}
    return Identity("tenant", "authenticated", {"sub": "00000000-0000-4000-8000-000000000001",
                                               "aud": "authenticated", "app_metadata": app_metadata,
                                               "user_metadata": user_metadata, "is_anonymous": False})


def anonymous_user() -> Identity:
    """An anonymous sign-in: role authenticated, is_anonymous true, no tenant assigned."""
    return Identity("anonymous", "authenticated", {"sub": "00000000-0000-4000-8000-000000000002",
                                                  "aud": "authenticated", "is_anonymous": True,
                                                  "app_metadata": {"provider": "anonymous"}})


def service_role() -> Identity:
    return Identity("service_role", "service_role", {})


class Verdict(enum.StrEnum):
    ALLOWED = "allowed"              # rows returned or affected (writes are probed without RETURNING,
                                     # PostgREST's default: RETURNING would also apply the SELECT policies)
    FILTERED = "filtered"            # no error, no row
    REJECTED_CHECK = "rejected by WITH CHECK"
    REJECTED_GRANT = "rejected by missing grant"
    ERROR = "error"

    @property
    def denied(self) -> bool:
        return self in (Verdict.FILTERED, Verdict.REJECTED_CHECK, Verdict.REJECTED_GRANT)


@dataclass(frozen=True)
class Response:
    verdict: Verdict
    rows: list[tuple[Any, ...]]
    message: str = ""
    affected: int = 0


def classify(error: psycopg.Error) -> Verdict:
    if error.sqlstate == "42501":
        text = (error.diag.message_primary or "").lower()
        return Verdict.REJECTED_CHECK if "row-level security" in text else Verdict.REJECTED_GRANT
    return Verdict.ERROR


class _Rollback(Exception):
    pass


class Simulator:
    """One connection for many simulated requests; nothing any request does is kept."""

    def __init__(self, dsn: str) -> None:
        self.conn = connect(dsn, autocommit=True)

    def close(self) -> None:
        self.conn.close()

    def check_roles(self, roles: tuple[str, ...] = ("anon", "authenticated", "service_role")) -> None:
        """Every API role this connection must act as, tried once: a role it cannot become would make every
        probe read as "denied", so it is one clear error instead."""
        for role in roles:
            try:
                with self.transaction():
                    self.conn.execute("select set_config('role', %s, true)", [role])
            except psycopg.errors.InsufficientPrivilege as e:
                raise ConfigError(f"RLS probes act as {role}, but role {self.conn.info.user} cannot "
                                  f"({e.diag.message_primary}); run the checks as a role that is a member of anon, "
                                  "authenticated and service_role (Supabase's postgres is)") from None

    @contextmanager
    def transaction(self) -> Iterator[psycopg.Connection[Any]]:
        """A transaction that is always rolled back."""
        try:
            with self.conn.transaction():
                yield self.conn
                raise _Rollback
        except _Rollback:
            pass

    def become(self, identity: Identity) -> None:
        self.conn.execute("select set_config('search_path', %s, true), set_config('role', %s, true),"
                          " set_config('request.jwt.claims', %s, true)",
                          [SEARCH_PATH, identity.role, identity.claims_json()])

    def attempt(self, identity: Identity, statement: sql.Composed | sql.SQL,
                params: list[Any] | None = None) -> Response:
        """Run one statement as ``identity`` inside the current transaction, in a savepoint."""
        try:
            with self.conn.transaction():
                self.become(identity)
                cur = self.conn.execute(statement, params)
                rows = cur.fetchall() if cur.description else []
                raise _Done(rows, max(cur.rowcount, len(rows)))
        except _Done as done:
            return Response(Verdict.ALLOWED if done.affected else Verdict.FILTERED, done.rows, affected=done.affected)
        except psycopg.Error as e:
            return Response(classify(e), [], e.diag.message_primary or str(e))

    def request(self, identity: Identity, statement: sql.Composed | sql.SQL, params: list[Any] | None = None,
                *, setup: Callable[[Simulator], None] | None = None) -> Response:
        """One PostgREST request: optional setup (e.g. seeding rows as service_role), then the statement."""
        with self.transaction():
            if setup is not None:
                setup(self)
            return self.attempt(identity, statement, params)
        raise AssertionError("unreachable")  # pragma: no cover


class _Done(Exception):
    """Carries a successful statement's rows out of the savepoint, which is rolled back with them."""

    def __init__(self, rows: list[tuple[Any, ...]], affected: int) -> None:
        super().__init__()
        self.rows, self.affected = rows, affected
