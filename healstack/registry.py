"""Every check healstack runs, declared once: id, phase, name, title, default severity, what it guards, remedy.

The lints, the apply phase, the report and the README's tables all read this registry (a test keeps the
README in step with it). Data-quality rules are the one family declared elsewhere: each rule's own file is
its declaration (id, severity, owner, file:line), and its results carry the rule id.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from healstack.results import Severity


class Phase(enum.StrEnum):
    """The runbook's phases, in the order a rehearsal runs them; each is a pytest marker of the same name."""

    PREFLIGHT = "preflight"
    APPLY = "apply"
    ROLLBACK = "rollback"
    PARITY = "parity"
    LINTS = "lints"
    RLS = "rls"
    ETL = "etl"
    DQ = "dq"
    HEALTH = "health"
    DOCTOR = "doctor"

    @property
    def order(self) -> int:
        return list(Phase).index(self)


@dataclass(frozen=True)
class CheckSpec:
    id: str
    phase: Phase | None  # None: a check of every phase
    name: str          # a stable slug, e.g. rls_disabled_in_public
    title: str         # what a failure means, in a few words
    severity: Severity  # default severity of a finding
    guards: str        # the defect this check exists to catch
    remedy: str        # what to do about a finding


_E, _W, _I = Severity.ERROR, Severity.WARN, Severity.INFO
_A, _R, _P, _L, _S = Phase.APPLY, Phase.ROLLBACK, Phase.PARITY, Phase.LINTS, Phase.RLS
_F, _T, _H, _D = Phase.PREFLIGHT, Phase.ETL, Phase.HEALTH, Phase.DOCTOR

_SPECS = (
    # migration safety lint (apply): a statement that destroys data or locks a busy table
    CheckSpec("HS000", _A, "migration_clean", "migration file has no unsafe statement", _I,
              "a file passing the safety lint", "nothing to do"),
    CheckSpec("HS001", _A, "destructive-drop", "DROP TABLE/SCHEMA/COLUMN or TRUNCATE", _E,
              "data destroyed by a forward migration (squawk: ban-drop-table, ban-drop-column, ban-drop-database, "
              "ban-truncate-cascade)",
              "never drop a table, schema or column in a forward migration; deprecate it"),
    CheckSpec("HS002", _A, "alter-column-type", "ALTER COLUMN TYPE on an existing table", _E,
              "a table rewritten under an exclusive lock (squawk: changing-column-type)", "add a new column, "
              "backfill it, and switch readers over"),
    CheckSpec("HS003", _A, "index-not-concurrent", "non-concurrent CREATE INDEX on an existing table", _E,
              "writes blocked while an index builds (squawk: require-concurrent-index-creation)",
              "use CREATE INDEX CONCURRENTLY in a file marked '-- healstack: no-transaction'"),
    CheckSpec("HS004", _A, "volatile-default", "ADD COLUMN with a volatile default", _E,
              "a table rewritten to fill a new column (squawk: adding-field-with-default)",
              "add the column without a default, backfill in batches, then set it"),
    CheckSpec("HS005", _A, "set-not-null-unvalidated", "SET NOT NULL without a validated check", _E,
              "a full scan under an exclusive lock (squawk: adding-not-nullable-field)",
              "add CHECK (col IS NOT NULL) NOT VALID, VALIDATE CONSTRAINT it, then SET NOT NULL"),
    CheckSpec("HS006", _A, "missing-if-not-exists", "a CREATE without IF NOT EXISTS / OR REPLACE", _W,
              "a migration that fails when run twice (squawk: prefer-robust-stmts)",
              "use IF NOT EXISTS / OR REPLACE, or guard the statement in a DO block checking the catalog"),
    CheckSpec("HS007", _A, "concurrently-in-transaction", "CONCURRENTLY in a transactional file", _E,
              "a migration Postgres refuses to run (squawk: ban-concurrent-index-creation-in-transaction)", "mark "
              "the file '-- healstack: no-transaction'"),
    CheckSpec("HS008", _A, "transaction-control", "BEGIN/COMMIT/ROLLBACK/SAVEPOINT in a transactional file", _E,
              "a file applied by halves: what came before a COMMIT stays when a later statement fails (squawk: "
              "ban-uncommitted-transaction, transaction-nesting)",
              "remove it: each file runs in one transaction (no allow comment lifts this rule)"),
    CheckSpec("HS009", _A, "constraint-not-valid", "CHECK or FOREIGN KEY added without NOT VALID", _E,
              "every row checked under a lock that blocks writes (squawk: constraint-missing-not-valid, "
              "adding-foreign-key-constraint)",
              "add it NOT VALID, then VALIDATE CONSTRAINT (which does not block writes)"),
    CheckSpec("HS010", _A, "unique-without-index", "UNIQUE or PRIMARY KEY added without USING INDEX", _E,
              "an index built under a lock that blocks writes (squawk: disallowed-unique-constraint, "
              "adding-primary-key-constraint)",
              "CREATE UNIQUE INDEX CONCURRENTLY (no-transaction file), then ADD CONSTRAINT ... USING INDEX"),
    CheckSpec("HS011", _A, "required-column", "ADD COLUMN NOT NULL without a default", _E,
              "a migration that fails on a table with rows (squawk: adding-required-field)",
              "add it with a default, or nullable: backfill, then SET NOT NULL after a validated check"),
    CheckSpec("HS012", _A, "stored-generated-column", "ADD COLUMN GENERATED ... STORED on an existing table", _E,
              "a table rewritten under an exclusive lock (squawk: adding-field-with-default)", "a plain column "
              "filled by a trigger and a batched backfill"),
    CheckSpec("HS013", _A, "not-concurrent", "DROP INDEX, REINDEX or DETACH PARTITION without CONCURRENTLY", _E,
              "a table blocked while an index is dropped or rebuilt or a partition detached (squawk: "
              "require-concurrent-index-deletion, require-concurrent-reindex, require-concurrent-partition-detach)",
              "use CONCURRENTLY in a file marked '-- healstack: no-transaction'"),
    CheckSpec("HS014", _A, "rename", "a table or column renamed", _E,
              "clients still using the old name break the moment it is applied (squawk: renaming-table, "
              "renaming-column)",
              "add the new name (a column or a view), move the clients, retire the old name later"),
    CheckSpec("HS015", _A, "drop-not-null", "DROP NOT NULL on an existing column", _E,
              "NULLs reaching clients that rely on a value (squawk: ban-drop-not-null)", "keep the constraint, or "
              "move clients first"),
    # apply: the action and the ledger
    CheckSpec("HS100", _A, "migrations_applied_now", "pending migrations applied", _E,
              "a migration that fails to apply", "fix the statement the error names; nothing of that file was kept"),
    CheckSpec("HS101", _A, "applied_migration_vanished", "an applied migration's file is gone", _E,
              "history rewritten behind the database's back", "restore the file from version control"),
    CheckSpec("HS102", _A, "applied_migration_edited", "an applied migration's file changed", _E,
              "a database that no longer matches its files",
              "restore the applied file and put the change in a new migration"),
    CheckSpec("HS103", _A, "untracked_objects", "objects of a pending migration already exist", _W,
              "changes applied by hand, outside the ledger", "compare with the migration, then apply it"),
    CheckSpec("HS104", _A, "migration_pending", "a migration is not applied to the target", _E,
              "a target behind its migrations", "run healstack apply"),
    CheckSpec("HS105", _A, "stack_healthcheck", "the stack's own healthcheck function reports a problem", _E,
              "a problem the stack's own healthcheck function knows about",
              "fix what the function reports (configure it as healthcheck in [tool.healstack])"),
    # rollback rehearsal
    CheckSpec("HS106", _A, "platform_stand_ins", "platform extensions are healstack's stand-ins", _W,
              "a rehearsal taken for the platform: pg_net sends nothing, pg_cron runs nothing, Vault encrypts "
              "nothing, pgcrypto's crypt is not bcrypt", "rehearse on a Supabase branch or a server with the real "
              "extensions before trusting what they do"),
    CheckSpec("HS201", _R, "rollback_missing", "a migration has no rollback file", _E,
              "a change that cannot be undone", "write NNNN_name.rollback.sql undoing the migration exactly"),
    CheckSpec("HS202", _R, "rollback_inexact", "the rollback does not restore the catalog", _E,
              "a rollback that leaves objects behind or removes too much",
              "make the rollback undo exactly what the migration creates"),
    CheckSpec("HS203", _R, "reapply_diverges", "re-applying after a rollback gives another schema", _E,
              "a migration that does not converge", "make the migration idempotent and its rollback exact"),
    # schema parity
    CheckSpec("HS300", _P, "schema_matches", "the live schema matches migrations/", _I,
              "nothing: the summary of a clean parity run", "nothing to do"),
    CheckSpec("HS301", _P, "object_missing", "an object the migrations create is missing", _E,
              "drift: an object dropped by hand", "run healstack delta and apply what it writes"),
    CheckSpec("HS302", _P, "object_unexpected", "an object no migration creates", _E,
              "drift: an object created by hand", "put it in a migration, or remove it by hand"),
    CheckSpec("HS303", _P, "object_different", "an object differs from what the migrations create", _E,
              "drift: an object altered by hand", "run healstack delta and apply what it writes"),
    # security and performance lints of the live catalog (Supabase splinter's set, and more)
    CheckSpec("HS401", _L, "rls_disabled_in_public", "RLS disabled on a table the API roles can reach", _E,
              "every row readable through the API (splinter: rls_disabled_in_public)", "alter table ... enable row "
              "level security"),
    CheckSpec("HS402", _L, "policy_exists_rls_disabled", "policies exist but RLS is disabled", _E,
              "policies that look enforced but are not (splinter: policy_exists_rls_disabled)", "enable row level "
              "security on the table"),
    CheckSpec("HS403", _L, "rls_enabled_no_policy", "RLS enabled but no policy", _W,
              "a table the API can never use (splinter: rls_enabled_no_policy)", "add the policies the API roles need"),
    CheckSpec("HS404", _L, "rls_not_forced", "RLS not forced where the owner does not bypass it", _W,
              "the owner reading every row through its own functions", "alter table ... force row level security"),
    CheckSpec("HS405", _L, "always_true_policy", "a write policy that admits every row to the API roles", _E,
              "a tenant reading or writing other tenants' rows (splinter: rls_policy_always_true)", "compare the "
              "row's tenant with the caller's claim"),
    CheckSpec("HS406", _L, "write_policy_without_check", "INSERT policy without WITH CHECK", _E,
              "an insert policy that admits no row (an UPDATE one is checked by its USING)",
              "add WITH CHECK (...) to the policy"),
    CheckSpec("HS407", _L, "policy_uses_user_metadata", "a policy reads user_metadata", _E,
              "a tenant claim users can edit for themselves (splinter: rls_references_user_metadata)", "read claims "
              "from app_metadata instead"),
    CheckSpec("HS408", _L, "security_definer_view", "a view runs as its owner over RLS tables", _E,
              "RLS bypassed through a view (splinter: security_definer_view)", "alter view ... set "
              "(security_invoker = true)"),
    # a warning, as splinter rates it: a Supabase RPC is often a SECURITY DEFINER function that checks the caller
    # itself (basejump's has_role_on_account); what one returns to the wrong tenant is HS502's error
    CheckSpec("HS409", _L, "security_definer_function_exposed", "SECURITY DEFINER function callable by the API", _W,
              "RLS bypassed through a function (splinter: anon_security_definer_function_executable, "
              "authenticated_security_definer_function_executable)",
              "revoke execute from anon, authenticated, public, or make it SECURITY INVOKER"),
    CheckSpec("HS410", _L, "function_search_path_mutable", "a function's search_path is not pinned", _W,
              "callers shadowing the objects a function uses (splinter: function_search_path_mutable)", "alter "
              "function ... set search_path = ''"),
    CheckSpec("HS411", _L, "auth_rls_initplan", "auth.uid()/auth.jwt()/current_setting() evaluated per row", _W,
              "policies that cost a function call per row (splinter: auth_rls_initplan)", "wrap the call: (select "
              "auth.uid())"),
    CheckSpec("HS412", _L, "unindexed_foreign_key", "a foreign key without a covering index", _W,
              "deletes and joins scanning the referencing table (splinter: unindexed_foreign_keys)", "create an "
              "index on the foreign key's columns"),
    CheckSpec("HS413", _L, "duplicate_index", "two identical indexes", _W,
              "writes maintaining the same index twice (splinter: duplicate_index)", "drop one of the two identical "
              "indexes"),
    CheckSpec("HS414", _L, "no_primary_key", "a table without a primary key", _W,
              "rows that cannot be addressed, replicated or de-duplicated (splinter: no_primary_key)", "add a "
              "primary key"),
    CheckSpec("HS415", _L, "extension_in_public", "an extension installed in public", _W,
              "extension objects exposed by the API (splinter: extension_in_public)", "install extensions in schema "
              "extensions"),
    CheckSpec("HS416", _L, "invalid_index", "an invalid index (a failed concurrent build)", _E,
              "an index maintained on every write and never used", "reindex index concurrently ..."),
    CheckSpec("HS417", _L, "auth_users_exposed", "auth.users exposed through a view", _E,
              "users' emails and metadata readable through the API (splinter: auth_users_exposed)",
              "do not expose auth.users through a view in an API schema"),
    CheckSpec("HS418", _L, "multiple_permissive_policies", "several permissive policies for one role and command", _W,
              "every policy evaluated for every row (splinter: multiple_permissive_policies)", "merge the policies "
              "into one per role and command"),
    CheckSpec("HS419", _L, "materialized_view_in_api", "a materialized view the API roles can read", _W,
              "rows readable without RLS (splinter: materialized_view_in_api)", "revoke select from anon, "
              "authenticated"),
    CheckSpec("HS420", _L, "foreign_table_in_api", "a foreign table the API roles can reach", _W,
              "rows readable without RLS (splinter: foreign_table_in_api)", "revoke access from anon, authenticated"),
    # the RLS contract, proven by behaviour
    CheckSpec("HS421", _L, "unsupported_reg_types", "a column of a reg* type pg_upgrade refuses", _W,
              "a major-version upgrade that stops on this table (splinter: unsupported_reg_types)",
              "store the name as text, or regclass/regtype/regrole, which pg_upgrade carries"),
    CheckSpec("HS422", _L, "sensitive_columns_exposed", "sensitive columns readable by the API without RLS", _E,
              "passwords, keys or card numbers read by anyone with the anon key (splinter: "
              "sensitive_columns_exposed)", "enable RLS with policies, or revoke the API roles' grants"),
    CheckSpec("HS423", _L, "fkey_to_auth_unique", "a foreign key into auth through a key other than the primary key",
              _E, "rows cut loose when Supabase Auth changes its unique constraints (splinter: fkey_to_auth_unique)",
              "reference auth.users (id)"),
    CheckSpec("HS424", _L, "extension_versions_outdated", "an extension older than the server offers", _W,
              "fixes and security updates of the extension not in use (splinter: extension_versions_outdated)",
              "ALTER EXTENSION ... UPDATE, in a migration"),
    CheckSpec("HS425", _L, "public_bucket_allows_listing", "a public storage bucket whose policy lets anyone list it",
              _W, "every file name of a bucket readable by anyone (splinter: public_bucket_allows_listing)",
              "drop the broad SELECT policy (public object URLs need none), or scope it to a folder"),
    CheckSpec("HS426", _L, "insecure_queue_exposed_in_api", "a pgmq queue table without RLS behind the Queues API",
              _E, "every message of the queue read (and consumed) by anyone with the anon key (splinter: "
              "insecure_queue_exposed_in_api)", "enable RLS on pgmq.q_<queue> with policies, or revoke the API "
              "roles' grants on it"),
    CheckSpec("HS427", _L, "pg_graphql_table_exposed", "a relation pg_graphql's introspection shows an API role", _W,
              "table and column names and relationships read by anyone with the anon key, or any signed-up user "
              "(splinter: pg_graphql_anon_table_exposed, pg_graphql_authenticated_table_exposed)",
              "revoke SELECT on it from the role, or drop pg_graphql if the project does not use GraphQL"),
    CheckSpec("HS501", _S, "rls_contract_case",
              "an identity can do what the contract forbids, or not what it allows", _E,
              "a tenant reading or writing another tenant's rows; a user locked out of their own",
              "change the table's policies or grants until the case behaves as contracted"),
    CheckSpec("HS502", _S, "rls_leak", "a view or SECURITY DEFINER function returns another tenant's rows", _E,
              "tenant isolation bypassed through an object RLS does not cover",
              "make the view security_invoker, or the function SECURITY INVOKER / not executable by the API"),
    CheckSpec("HS503", _S, "rls_contract_coverage", "a table the RLS contract does not cover", _E,
              "a new table reaching production with nobody saying who may read it",
              "add the table to the RLS contract"),
    CheckSpec("HS504", _S, "project_pgtap", "one of the project's own pgTAP tests fails", _E,
              "a behaviour the project's tests (supabase/tests) pin down, broken by a migration",
              "read the test's diagnostics; `supabase test db` runs the same files"),
    # preflight: before anything touches the target
    CheckSpec("HS601", _F, "settings_valid", "a setting or declaration file is missing or malformed", _E,
              "a run that fails half-way on input it could have refused at the start",
              "fix the setting or file the message names (README: Configuration)"),
    CheckSpec("HS602", _F, "database_reachable", "the database cannot be reached", _E,
              "every later phase failing for one reason", "check DATABASE_URL, the network path and the server"),
    CheckSpec("HS603", _F, "server_version_supported", "the server's Postgres version is not 15 to 18", _E,
              "catalog queries and deparsed definitions healstack was not tested against",
              "run against Postgres 15, 16, 17 or 18"),
    CheckSpec("HS604", _F, "extensions_available", "an extension the migrations create is not available", _E,
              "a migration failing half-way through the apply",
              "install the extension on the server (or use the embedded default, which stands in)"),
    CheckSpec("HS605", _F, "supabase_roles", "Supabase's API roles are missing", _W,
              "RLS policies and grants naming roles that do not exist",
              "run on Supabase, or let apply create them (it needs CREATEROLE)"),
    CheckSpec("HS606", _F, "connection_path", "the connection goes through a transaction pooler", _W,
              "session locks and settings lost between transactions",
              "point DATABASE_URL at the session pooler or the database (port 5432) to apply or load"),
    CheckSpec("HS607", _F, "time_zone_valid", "the stack's time zone is unknown to the server", _E,
              "days bounded in the wrong zone", "set timezone to a name in pg_timezone_names"),
    CheckSpec("HS608", _F, "source_credentials", "a source's credentials are missing", _W,
              "an ETL run failing at its first request",
              "set the variables the message names (never printed), or use the embedded default's fixtures"),
    # the ETL's guardrails, against the target's run ledger
    CheckSpec("HS700", _T, "source_pulled", "a run could not pull a source", _E,
              "a stack whose data stopped arriving", "read the error: credentials, the API's answer, bad records"),
    CheckSpec("HS701", _T, "source_last_run", "a source's last run failed or was interrupted", _E,
              "data missing since a run that did not finish", "run the source again (the doctor does)"),
    CheckSpec("HS702", _T, "source_fresh", "a source's data is older than its freshness threshold", _E,
              "dashboards showing yesterday as today", "run the source; find why its schedule stopped"),
    CheckSpec("HS703", _T, "dry_run_writes_nothing", "a dry run of a source wrote to the target", _E,
              "a preview that changes production data", "find the write in the dry-run path of healstack/etl"),
    CheckSpec("HS704", _T, "rerun_writes_nothing", "the same pull again wrote rows the source did not change", _E,
              "every run rewriting (and bloating) what it loaded before", "compare the rewritten rows' columns; a "
              "value the source sends in a new form each time (a float, a timestamp) needs normalising"),
    CheckSpec("HS705", _T, "metrics_match_recompute", "metrics_daily differs from a recompute of the loaded days",
              _E, "dashboards that disagree with the rows beneath them",
              "recompute the days: `healstack etl metrics --from D --to D`"),
    CheckSpec("HS706", _T, "natural_key_unique", "an ETL table holds a natural key twice", _E,
              "spend or orders counted twice", "restore the table's unique key; keep the newest row of each key"),
    # database health (thresholds in checks/health.toml)
    CheckSpec("HS800", _H, "inventory", "every table's rows and size, recorded", _I,
              "growth nobody noticed (the report compares with the previous run)", "nothing to do"),
    CheckSpec("HS801", _H, "unused_index", "an index no query has used", _W,
              "writes slowed and disk filled by an index that buys nothing",
              "drop it in a migration once you know no monthly job needs it (drop index concurrently)"),
    CheckSpec("HS802", _H, "sequential_scans", "a large table read mostly by sequential scans", _E,
              "a query that reads the whole table each time, slower as it grows",
              "find the query (pg_stat_statements, the plans below) and add the index its filter needs"),
    CheckSpec("HS803", _H, "bloat", "a table or index with much of its space wasted", _W,
              "scans and the cache spent on dead space", "vacuum full or pg_repack it in a quiet hour; "
              "reindex concurrently an index"),
    CheckSpec("HS804", _H, "cache_hit_ratio", "table or index reads missing the cache", _W,
              "queries waiting on disk", "a larger compute (more memory), or fewer full scans"),
    CheckSpec("HS805", _H, "vacuum_overdue", "a table waiting on autovacuum, or never vacuumed", _W,
              "dead rows piling up, plans from stale statistics",
              "vacuum (analyze) the table; check autovacuum is on and its workers keep up"),
    CheckSpec("HS806", _H, "dead_tuples", "many dead rows in a table", _W,
              "scans reading rows nobody sees", "vacuum the table; lower its autovacuum_vacuum_scale_factor"),
    CheckSpec("HS807", _H, "xid_wraparound", "transaction ID headroom running out", _E,
              "a database that stops accepting writes", "vacuum (freeze) the oldest tables; end long transactions"),
    CheckSpec("HS808", _H, "sequence_near_max", "a sequence near its largest value", _E,
              "inserts failing once the sequence or its column is exhausted",
              "alter the column and its sequence to bigint before the limit"),
    CheckSpec("HS809", _H, "long_running_query", "a statement running for long", _W,
              "locks held and vacuum held back by one statement", "find its caller; cancel it if it is stuck"),
    CheckSpec("HS810", _H, "idle_in_transaction", "a session idle inside a transaction", _W,
              "locks held and dead rows kept by a client that went quiet",
              "fix the client; set idle_in_transaction_session_timeout"),
    CheckSpec("HS811", _H, "blocked_by_lock", "a session blocked by another's lock", _E,
              "a chain of writers stalled behind one lock holder",
              "end or cancel the blocking session; keep lock-taking transactions short"),
    CheckSpec("HS812", _H, "connections_near_max", "connections near the server's limit", _W,
              "clients refused a connection", "connect through the pooler; close idle connections"),
    CheckSpec("HS813", _H, "not_valid_constraint", "a constraint left NOT VALID", _W,
              "old rows that may break the constraint", "alter table ... validate constraint (does not block writes)"),
    CheckSpec("HS814", _H, "slow_statement", "a statement slower on average than the alert levels", _W,
              "a query whose mean time crossed 50 ms (warn) or 200 ms (critical)",
              "read its plan; add the index or rewrite the query"),
    CheckSpec("HS815", _H, "access_path", "a query the stack depends on scans a large table or is slow", _E,
              "an API request that reads a whole table as it grows",
              "add the index the plan is missing (a migration) or give the query a filter an index serves"),
    CheckSpec("HS816", _H, "retention_overdue", "rows kept past their retention and its grace days", _E,
              "a retention job that stalled or fails, keeping data the policy says must go",
              "healstack retention --dry-run, then healstack retention (checks/retention.toml)"),
    CheckSpec("HS817", _H, "backup_age", "no verified backup of the declared tables within the limit", _E,
              "a backup job that stopped: the next loss is unrecoverable",
              "healstack backup (weekly; keeps the last 7)"),
    # the doctor
    CheckSpec("HS901", _D, "healed", "a safe heal did not make its check pass", _E,
              "a failure the doctor cannot mend", "follow the check's own remedy; the ticket has the evidence"),
    CheckSpec("HS902", _D, "statistics_stale", "a table changed far more than its planner statistics know", _W,
              "plans made for a table a tenth of its size (autovacuum's threshold is crossed)",
              "analyze the table (the doctor does)"),
    # any phase
    CheckSpec("HS999", None, "phase_broke", "a phase's checks stopped on an unexpected error", _E,
              "a guardrail that silently checks nothing", "read the error and its traceback in the test log; "
              "it is a bug in healstack or in a declaration it did not refuse"),
)

CHECKS: dict[str, CheckSpec] = {spec.id: spec for spec in _SPECS}


def spec(check_id: str) -> CheckSpec:
    """The declaration of one check; an unknown id is a bug, never user input."""
    return CHECKS[check_id]


def phase_of(check_id: str, default: Phase = Phase.DQ) -> Phase:
    """The phase a check belongs to; ids not in the registry are data-quality rule ids."""
    found = CHECKS.get(check_id)
    return found.phase if found and found.phase else default


def markdown_table() -> list[str]:
    """The registry as the README's table (a test keeps the README equal to it)."""
    lines = ["| id | phase | severity | a finding means |", "|---|---|---|---|"]
    return lines + [f"| {s.id} | {s.phase.value if s.phase else 'any'} | {s.severity.value} | {s.title} |"
                    for s in CHECKS.values()]
