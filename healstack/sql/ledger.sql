-- healstack's migration ledger: one row per applied forward migration.
create schema if not exists healstack;
revoke all on schema healstack from public;

create table if not exists healstack.schema_migrations (
    version text primary key,
    name text not null,
    checksum text not null,
    applied_at timestamptz not null default now(),
    duration_ms numeric(12, 3) not null,
    applied_by text not null default current_user,
    statements integer not null,
    constraint schema_migrations_checksum_sha256 check (checksum ~ '^[0-9a-f]{64}$')
);
