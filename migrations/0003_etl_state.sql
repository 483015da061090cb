-- The ETL's own bookkeeping: one ledger row per run, and the cursor each source resumes from.
-- Only service_role (the ETL) may see or touch either.

create table if not exists public.etl_runs (
    id bigint generated always as identity primary key,
    source text not null,
    window_start timestamptz,
    window_end timestamptz,
    status text not null default 'running',
    dry_run boolean not null default false,
    started_at timestamptz not null default now(),
    finished_at timestamptz,
    attempts integer not null default 0,
    pages integer not null default 0,
    rows_fetched bigint not null default 0,
    rows_inserted bigint not null default 0,
    rows_updated bigint not null default 0,
    rows_unchanged bigint not null default 0,
    duration_ms bigint,
    error text,
    constraint etl_runs_status_known check (status in ('running', 'succeeded', 'failed')),
    constraint etl_runs_window_ordered check (window_end >= window_start),
    constraint etl_runs_counts_not_negative check (
        attempts >= 0 and pages >= 0 and rows_fetched >= 0 and rows_inserted >= 0
        and rows_updated >= 0 and rows_unchanged >= 0
    )
);
create index if not exists etl_runs_source_started_idx on public.etl_runs (source, started_at desc);

create table if not exists public.etl_cursors (
    source text primary key,
    cursor_state jsonb not null,
    updated_at timestamptz not null default now()
);

create or replace trigger etl_cursors_set_updated_at before update on public.etl_cursors
for each row execute function public.set_updated_at();

revoke all on public.etl_runs, public.etl_cursors from anon, authenticated;
grant all on public.etl_runs, public.etl_cursors to service_role;

alter table public.etl_runs enable row level security;
alter table public.etl_runs force row level security;
alter table public.etl_cursors enable row level security;
alter table public.etl_cursors force row level security;

do $policies$
begin
    if not exists (select from pg_catalog.pg_policies
                   where schemaname = 'public' and tablename = 'etl_runs' and policyname = 'etl_runs_service_role_all') then
        create policy etl_runs_service_role_all on public.etl_runs
        for all to service_role using (true) with check (true);
    end if;
    if not exists (select from pg_catalog.pg_policies
                   where schemaname = 'public' and tablename = 'etl_cursors' and policyname = 'etl_cursors_service_role_all') then
        create policy etl_cursors_service_role_all on public.etl_cursors
        for all to service_role using (true) with check (true);
    end if;
end
$policies$;
