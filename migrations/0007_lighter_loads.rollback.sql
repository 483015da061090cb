drop trigger if exists orders_forget_source_hash on public.orders;
drop trigger if exists spend_forget_source_hash on public.spend;
drop trigger if exists events_forget_source_hash on public.events;
drop function if exists public.forget_source_hash();
alter table public.orders drop column if exists source_hash;
alter table public.spend drop column if exists source_hash;
alter table public.events drop column if exists source_hash;
create index if not exists idx_spend_platform_dt on public.spend (platform, dt);
