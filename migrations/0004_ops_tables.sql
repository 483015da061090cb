-- Operational tables from the health/RLS remediation log: analytics facts (project-scoped),
-- decision-sync telemetry (scope-scoped) and its API view, edge-function logs, and the curated
-- support replies. facts, decision logs and observability logs are audit trails: nobody but
-- service_role may update or delete them.

create table if not exists public.facts (
    id bigint generated always as identity primary key,
    project text not null,
    topic text not null,
    key text not null,
    value jsonb not null,
    created_at timestamptz not null default now()
);
create index if not exists facts_topic_idx on public.facts (topic);
create index if not exists facts_topic_key_idx on public.facts (topic, key);
create index if not exists facts_created_at_idx on public.facts (created_at desc);
create index if not exists facts_project_topic_created_idx on public.facts (project, topic, created_at desc);

create table if not exists public.decision_sync_event_logs (
    id bigint generated always as identity primary key,
    scope text not null,
    decision_id bigint not null,
    status text not null,
    duration_ms integer,
    payload jsonb not null default '{}'::jsonb,
    created_at timestamptz not null default now(),
    constraint decision_sync_event_logs_status_known check (status in ('queued', 'synced', 'failed', 'skipped')),
    constraint decision_sync_event_logs_duration_not_negative check (duration_ms >= 0)
);
create index if not exists decision_sync_event_logs_decision_id_idx on public.decision_sync_event_logs (decision_id);
create index if not exists decision_sync_event_logs_scope_idx on public.decision_sync_event_logs (scope);
create index if not exists decision_sync_event_logs_created_at_idx on public.decision_sync_event_logs (created_at desc);

-- The public API view runs with the caller's rights, so the table's RLS applies through it.
create or replace view public.decision_sync_events with (security_invoker = true) as
select
    id,
    scope,
    decision_id,
    status,
    duration_ms,
    created_at
from public.decision_sync_event_logs;

create table if not exists public.observability_logs (
    id bigint generated always as identity primary key,
    project text not null,
    request_id text,
    level text not null,
    message text not null,
    metadata jsonb not null default '{}'::jsonb,
    created_at timestamptz not null default now(),
    constraint observability_logs_level_known check (level in ('DEBUG', 'INFO', 'WARN', 'ERROR'))
);
create index if not exists observability_logs_project_created_idx on public.observability_logs (project, created_at desc);
create index if not exists observability_logs_request_id_idx on public.observability_logs (request_id);
create index if not exists observability_logs_errors_idx on public.observability_logs (created_at desc)
where level = 'ERROR';

create table if not exists public.support_curated_replies (
    id bigint generated always as identity primary key,
    project text not null,
    conversation_id text not null,
    source_message_id text,
    customer_message text not null,
    curated_reply text not null,
    tags text[] not null default '{}',
    approved_by text,
    approved_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
create index if not exists support_curated_replies_project_idx on public.support_curated_replies (project);
create index if not exists support_curated_replies_approved_at_idx on public.support_curated_replies (approved_at desc);
create index if not exists support_curated_replies_conversation_idx on public.support_curated_replies (conversation_id);
create index if not exists support_curated_replies_source_msg_idx on public.support_curated_replies (source_message_id);
create index if not exists support_curated_replies_updated_at_idx on public.support_curated_replies (updated_at desc);
create index if not exists support_curated_replies_created_at_idx on public.support_curated_replies (created_at desc);
create index if not exists support_curated_replies_tags_gin on public.support_curated_replies using gin (tags);
create index if not exists support_curated_replies_customer_message_trgm on public.support_curated_replies
using gin (customer_message extensions.gin_trgm_ops);

create or replace trigger support_curated_replies_set_updated_at before update on public.support_curated_replies
for each row execute function public.set_updated_at();

revoke all on public.facts, public.decision_sync_event_logs, public.decision_sync_events,
public.observability_logs, public.support_curated_replies from anon, authenticated;
grant select, insert on public.facts, public.decision_sync_event_logs to authenticated;
grant select on public.observability_logs, public.support_curated_replies, public.decision_sync_events to authenticated;
grant all on public.facts, public.decision_sync_event_logs, public.decision_sync_events,
public.observability_logs, public.support_curated_replies to service_role;

alter table public.facts enable row level security;
alter table public.facts force row level security;
alter table public.decision_sync_event_logs enable row level security;
alter table public.decision_sync_event_logs force row level security;
alter table public.observability_logs enable row level security;
alter table public.observability_logs force row level security;
alter table public.support_curated_replies enable row level security;
alter table public.support_curated_replies force row level security;

do $policies$
begin
    if not exists (select from pg_catalog.pg_policies
                   where schemaname = 'public' and tablename = 'facts' and policyname = 'facts_select_own_project') then
        create policy facts_select_own_project on public.facts for select to authenticated
        using (project = (select auth.jwt() -> 'app_metadata' ->> 'project'));
    end if;
    if not exists (select from pg_catalog.pg_policies
                   where schemaname = 'public' and tablename = 'facts' and policyname = 'facts_insert_own_project') then
        create policy facts_insert_own_project on public.facts for insert to authenticated
        with check (project = (select auth.jwt() -> 'app_metadata' ->> 'project'));
    end if;
    if not exists (select from pg_catalog.pg_policies
                   where schemaname = 'public' and tablename = 'decision_sync_event_logs'
                   and policyname = 'decision_sync_event_logs_select_own_scope') then
        create policy decision_sync_event_logs_select_own_scope on public.decision_sync_event_logs
        for select to authenticated
        using (scope = (select auth.jwt() -> 'app_metadata' ->> 'scope'));
    end if;
    if not exists (select from pg_catalog.pg_policies
                   where schemaname = 'public' and tablename = 'decision_sync_event_logs'
                   and policyname = 'decision_sync_event_logs_insert_own_scope') then
        create policy decision_sync_event_logs_insert_own_scope on public.decision_sync_event_logs
        for insert to authenticated
        with check (scope = (select auth.jwt() -> 'app_metadata' ->> 'scope'));
    end if;
    if not exists (select from pg_catalog.pg_policies
                   where schemaname = 'public' and tablename = 'observability_logs'
                   and policyname = 'observability_logs_select_own_project') then
        create policy observability_logs_select_own_project on public.observability_logs
        for select to authenticated
        using (project = (select auth.jwt() -> 'app_metadata' ->> 'project'));
    end if;
    if not exists (select from pg_catalog.pg_policies
                   where schemaname = 'public' and tablename = 'support_curated_replies'
                   and policyname = 'support_curated_replies_select_own_project') then
        create policy support_curated_replies_select_own_project on public.support_curated_replies
        for select to authenticated
        using (project = (select auth.jwt() -> 'app_metadata' ->> 'project'));
    end if;
end
$policies$;

do $policies$
declare
    t text;
begin
    foreach t in array array['facts', 'decision_sync_event_logs', 'observability_logs', 'support_curated_replies'] loop
        if not exists (select from pg_catalog.pg_policies
                       where schemaname = 'public' and tablename = t and policyname = t || '_service_role_all') then
            execute pg_catalog.format(
                'create policy %I on public.%I for all to service_role using (true) with check (true)',
                t || '_service_role_all', t);
        end if;
    end loop;
end
$policies$;
