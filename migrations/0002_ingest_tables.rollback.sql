drop table if exists public.metrics_daily;
drop table if exists public.orders;
drop table if exists public.spend;
drop table if exists public.events;
drop function if exists public.set_updated_at();
