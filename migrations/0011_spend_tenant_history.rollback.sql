-- healstack: no-transaction
drop index concurrently if exists public.spend_project_dt_idx;
