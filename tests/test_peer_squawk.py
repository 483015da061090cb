"""healstack's migration lint measured on squawk's own rule tests (tests/peers/squawk_cases.json, made by
extract_squawk.py from squawk's crates/squawk_linter/src/rules/*.rs).

Each test's SQL becomes one migration file as healstack reads them: a file squawk assumes runs in a
transaction (assume_in_transaction) is a transactional file; any other is a `-- healstack: no-transaction`
file, run as written, its own BEGIN ... COMMIT included, as squawk takes it. The lint
levels are a Supabase project's defaults (HS006, idempotency, a warning).

- a case squawk refuses is caught when healstack refuses it (an error) by the rule for the same hazard;
- a case squawk passes is a false alarm when that rule refuses it.

Squawk's style rules (types, identifier length, timeouts, robust statements) have no healstack peer and are
left out; so are cases of Postgres 11 and before (what they judge changed in 12; healstack runs 15 and later).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import psycopg
import pytest

from healstack.db import connect
from healstack.migrate.files import NO_TRANSACTION, Migration
from healstack.migrate.lint import lint_migration
from healstack.results import Outcome

pytestmark = pytest.mark.any_postgres  # the lint reads files, no server: run once
CASES = json.loads((Path(__file__).parent / "peers" / "squawk_cases.json").read_text())

# squawk's rule -> healstack's rules for the same hazard
PEERS = {
    "adding_field_with_default": {"HS004", "HS012"},
    "adding_foreign_key_constraint": {"HS009"},
    "adding_not_null_field": {"HS005"},
    "adding_primary_key_constraint": {"HS010"},
    "adding_required_field": {"HS011"},
    "ban_concurrent_index_creation_in_transaction": {"HS007"},
    "ban_drop_column": {"HS001"},
    "ban_drop_database": {"HS001"},
    "ban_drop_not_null": {"HS015"},
    "ban_drop_table": {"HS001"},
    "ban_truncate_cascade": {"HS001"},
    "ban_uncommitted_transaction": {"HS008:without COMMIT"},
    "changing_column_type": {"HS002"},
    "constraint_missing_not_valid": {"HS009"},
    "disallow_unique_constraint": {"HS010"},
    "renaming_column": {"HS014"},
    "renaming_table": {"HS014"},
    "require_concurrent_index_creation": {"HS003"},
    "require_concurrent_index_deletion": {"HS013"},
    "require_concurrent_partition_detach": {"HS013"},
    "require_concurrent_reindex": {"HS013"},
    "transaction_nesting": {"HS008"},  # nested BEGIN, COMMIT with none open, or either in a transactional file
}


def migration(case: dict[str, Any], folder: Path) -> Migration:
    """The case as healstack would find it in supabase/migrations/: a file squawk assumes runs in a transaction
    is a transactional file; any other runs as written (`-- healstack: no-transaction`), its own BEGIN and
    COMMIT included."""
    sql = case["sql"]
    transactional = case["assume_in_transaction"] and "squawk-disable-assume-in-transaction" not in sql
    path = folder / f"{len(list(folder.iterdir())):04d}_{case['test']}.sql"
    path.write_text(sql if transactional else f"{NO_TRANSACTION}\n{sql}")
    return Migration(path.name[:4], case["test"], path)


def refused_by(case: dict[str, Any], folder: Path) -> set[str]:
    try:
        results = lint_migration(migration(case, folder), severity={"HS006": "warn"})
    except Exception as e:  # a statement pglast cannot parse: squawk's parser takes more than Postgres's
        return {f"unparsed: {e}"}
    refused = {r.check_id for r in results if r.outcome is Outcome.FAILED}
    return refused | {f"{r.check_id}:without COMMIT" for r in results
                      if r.outcome is Outcome.FAILED and "without COMMIT" in r.message}


def measure(folder: Path) -> list[tuple[dict[str, Any], str]]:
    verdicts = []
    for case in CASES:
        if case["rule"] not in PEERS or (case["pg_version"] or 15) < 12:  # 12 and later behave as 15 here
            continue
        refused = refused_by(case, folder)
        mine = PEERS[case["rule"]] & refused
        if case["refused"]:
            verdicts.append((case, "caught" if mine else f"missed (refused by {sorted(refused) or 'nothing'})"))
        else:
            verdicts.append((case, f"false alarm ({sorted(mine)})" if mine else "quiet"))
    return verdicts


# Where healstack and squawk disagree (proven below where a server can say so).
DISAGREE = {
    "adding_field_with_default::default_random_with_args_err": "now(123) is no function: Postgres refuses the "
                                                              "file when it runs, there is no table to rewrite",
    "adding_foreign_key_constraint::add_foreign_key_constraint_not_valid_validate": "squawk's own "
        "constraint-missing-not-valid refuses the same file (not_valid_validate_transaction_err): VALIDATE in the "
        "transaction of the NOT VALID add keeps its lock",
    "ban_truncate_cascade::ok": "TRUNCATE destroys data with or without CASCADE (HS001)",
}


def test_squawk_hazards_are_refused_by_their_rule_and_safe_examples_pass(tmp_path: Path) -> None:
    verdicts = measure(tmp_path)
    hazards = [(c, v) for c, v in verdicts if c["refused"]]
    safe = [(c, v) for c, v in verdicts if not c["refused"]]
    caught = sum(1 for _, v in hazards if v == "caught")
    alarms = {f"{c['rule']}::{c['test']}" for c, v in safe if v != "quiet"}
    missed = {f"{c['rule']}::{c['test']}" for c, v in hazards if v != "caught"}
    print(f"\nsquawk: {caught} of {len(hazards)} hazards refused by their rule, {len(alarms)} false alarms on "
          f"{len(safe)} safe examples; {len(DISAGREE)} disagreements: {', '.join(sorted(DISAGREE))}")
    assert missed | alarms == set(DISAGREE), missed | alarms


def test_the_disagreement_on_a_function_that_does_not_exist_holds(migrated_db: str) -> None:
    with connect(migrated_db) as conn, pytest.raises(psycopg.errors.UndefinedFunction):
        conn.execute("create table public.core_recipe (id int)")
        conn.execute('alter table public.core_recipe add column "foo" timestamptz default now(123)')
