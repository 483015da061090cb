drop table if exists public.etl_cursors;
drop table if exists public.etl_runs;
