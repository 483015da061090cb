drop function if exists public.system_healthcheck();
drop function if exists public.recompute_metrics_daily(date, date);
drop function if exists public.upsert_orders(jsonb);
drop function if exists public.upsert_spend(jsonb);
drop function if exists public.upsert_events(jsonb);
