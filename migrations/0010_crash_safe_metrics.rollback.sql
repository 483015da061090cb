-- Back to three statuses: an interrupted run is recorded as failed, which is what it was.
update public.etl_runs
set status = 'failed'
where status = 'interrupted';
alter table public.etl_runs drop constraint if exists etl_runs_status_known;
alter table public.etl_runs add constraint etl_runs_status_known
check (status in ('running', 'succeeded', 'failed'));
drop table if exists public.etl_dirty_days;
