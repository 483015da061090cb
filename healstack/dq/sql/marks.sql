-- Incremental data quality's high-water marks, one row per rule: the highest value of the rule's mark
-- column its last completed run checked, and for freshness the latest timestamp it saw.
create schema if not exists healstack;
revoke all on schema healstack from public;

create table if not exists healstack.dq_marks (
    rule_id text primary key,
    table_name text not null,
    mark_column text not null,
    mark text,
    latest text,
    checked_at timestamptz not null default now()
);
