-- Human-in-the-loop tables of the Agent SDK: the approval queue, feedback used as training data,
-- and query tracking. Rows belong to a project (a conversation lives inside one). They are audit
-- records: nobody but service_role deletes them; authenticated users may annotate feedback and
-- set the approval state of queries in their own project, never move a row to another project.

create table if not exists public.agent_approvals (
    id bigint generated always as identity primary key,
    project text not null,
    conversation_id text not null,
    serialized jsonb not null,
    last_interruptions jsonb not null default '[]'::jsonb,
    approved_by text,
    status text not null default 'pending',
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint agent_approvals_status_known check (status in ('pending', 'approved', 'rejected', 'expired'))
);
create index if not exists agent_approvals_project_idx on public.agent_approvals (project);
create index if not exists agent_approvals_conversation_id_idx on public.agent_approvals (conversation_id);
create index if not exists agent_approvals_created_at_idx on public.agent_approvals (created_at desc);
create index if not exists agent_approvals_status_idx on public.agent_approvals (status);
create index if not exists agent_approvals_status_created_idx on public.agent_approvals (created_at desc)
where status = 'pending';

create table if not exists public.agent_feedback (
    id bigint generated always as identity primary key,
    project text not null,
    conversation_id text not null,
    input_text text not null,
    model_draft text not null,
    safe_to_send boolean,
    labels text[] not null default '{}',
    rubric jsonb not null default '{}'::jsonb,
    annotator text,
    notes text,
    meta jsonb not null default '{}'::jsonb,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
create index if not exists agent_feedback_project_idx on public.agent_feedback (project);
create index if not exists agent_feedback_conversation_id_idx on public.agent_feedback (conversation_id);
create index if not exists agent_feedback_created_at_idx on public.agent_feedback (created_at desc);
create index if not exists agent_feedback_annotator_idx on public.agent_feedback (annotator);
create index if not exists agent_feedback_safe_to_send_idx on public.agent_feedback (safe_to_send)
where safe_to_send is not null;
create index if not exists agent_feedback_labels_gin on public.agent_feedback using gin (labels);

create table if not exists public.agent_queries (
    id bigint generated always as identity primary key,
    project text not null,
    conversation_id text not null,
    agent text not null,
    query text not null,
    result jsonb not null,
    approved boolean,
    human_edited boolean not null default false,
    latency_ms integer,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint agent_queries_latency_not_negative check (latency_ms >= 0)
);
create index if not exists agent_queries_project_idx on public.agent_queries (project);
create index if not exists agent_queries_conversation_id_idx on public.agent_queries (conversation_id);
create index if not exists agent_queries_created_at_idx on public.agent_queries (created_at desc);
create index if not exists agent_queries_agent_idx on public.agent_queries (agent);
create index if not exists agent_queries_approved_idx on public.agent_queries (approved)
where approved is not null;
create index if not exists agent_queries_agent_created_idx on public.agent_queries (agent, created_at desc);
create index if not exists agent_queries_latency_idx on public.agent_queries (latency_ms)
where latency_ms is not null;

create or replace trigger agent_approvals_set_updated_at before update on public.agent_approvals
for each row execute function public.set_updated_at();
create or replace trigger agent_feedback_set_updated_at before update on public.agent_feedback
for each row execute function public.set_updated_at();
create or replace trigger agent_queries_set_updated_at before update on public.agent_queries
for each row execute function public.set_updated_at();

revoke all on public.agent_approvals, public.agent_feedback, public.agent_queries from anon, authenticated;
grant select on public.agent_approvals, public.agent_feedback, public.agent_queries to authenticated;
grant update (safe_to_send, labels, rubric, annotator, notes) on public.agent_feedback to authenticated;
grant update (approved, human_edited) on public.agent_queries to authenticated;
grant all on public.agent_approvals, public.agent_feedback, public.agent_queries to service_role;

alter table public.agent_approvals enable row level security;
alter table public.agent_approvals force row level security;
alter table public.agent_feedback enable row level security;
alter table public.agent_feedback force row level security;
alter table public.agent_queries enable row level security;
alter table public.agent_queries force row level security;

do $policies$
declare
    t text;
begin
    foreach t in array array['agent_approvals', 'agent_feedback', 'agent_queries'] loop
        if not exists (select from pg_catalog.pg_policies
                       where schemaname = 'public' and tablename = t and policyname = t || '_select_own_project') then
            execute pg_catalog.format(
                'create policy %I on public.%I for select to authenticated '
                'using (project = (select auth.jwt() -> ''app_metadata'' ->> ''project''))',
                t || '_select_own_project', t);
        end if;
        if not exists (select from pg_catalog.pg_policies
                       where schemaname = 'public' and tablename = t and policyname = t || '_service_role_all') then
            execute pg_catalog.format(
                'create policy %I on public.%I for all to service_role using (true) with check (true)',
                t || '_service_role_all', t);
        end if;
    end loop;
    foreach t in array array['agent_feedback', 'agent_queries'] loop
        if not exists (select from pg_catalog.pg_policies
                       where schemaname = 'public' and tablename = t and policyname = t || '_update_own_project') then
            execute pg_catalog.format(
                'create policy %I on public.%I for update to authenticated '
                'using (project = (select auth.jwt() -> ''app_metadata'' ->> ''project'')) '
                'with check (project = (select auth.jwt() -> ''app_metadata'' ->> ''project''))',
                t || '_update_own_project', t);
        end if;
    end loop;
end
$policies$;
