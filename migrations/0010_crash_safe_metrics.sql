-- A killed ETL run must not leave metrics_daily wrong. Every transaction that writes spend or orders rows
-- also records their days here; every run recomputes and clears the recorded days (at its start, so a
-- crash before the recompute is mended by the next run, and at its end). A run killed or crashed stays
-- 'running' in etl_runs: the next run of its source marks it 'interrupted'.

create table if not exists public.etl_dirty_days (
    day date primary key,
    marked_at timestamptz not null default now()
);

revoke all on public.etl_dirty_days from anon, authenticated;
grant all on public.etl_dirty_days to service_role;
alter table public.etl_dirty_days enable row level security;
alter table public.etl_dirty_days force row level security;

do $policies$
begin
    if not exists (select from pg_catalog.pg_policies
                   where schemaname = 'public' and tablename = 'etl_dirty_days'
                   and policyname = 'etl_dirty_days_service_role_all') then
        create policy etl_dirty_days_service_role_all on public.etl_dirty_days
        for all to service_role using (true) with check (true);
    end if;
end
$policies$;

-- 'interrupted' joins the known statuses: the check is replaced only while it lacks it, added NOT VALID
-- and then validated, so the table is not scanned under the exclusive lock.
do $status$
begin
    if not exists (select from pg_catalog.pg_constraint
                   where conrelid = 'public.etl_runs'::regclass and conname = 'etl_runs_status_known'
                   and pg_catalog.pg_get_constraintdef(oid) like '%interrupted%') then
        alter table public.etl_runs drop constraint if exists etl_runs_status_known;
        alter table public.etl_runs add constraint etl_runs_status_known
        check (status in ('running', 'succeeded', 'failed', 'interrupted')) not valid;
        alter table public.etl_runs validate constraint etl_runs_status_known;
    end if;
end
$status$;
