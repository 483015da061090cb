-- Tables the ETL ingests into (events, ad spend from platforms A and B, Shopify orders) and the
-- daily metrics derived from them. Each ingested table has the natural key its upsert conflicts on.
-- Tenancy: every row belongs to a project; authenticated users read their own project's rows, as
-- named by the JWT's app_metadata (never user_metadata, which users can edit). Writes are the
-- ETL's, as service_role.

create or replace function public.set_updated_at() returns trigger
language plpgsql
set search_path = ''
as $$
begin
    new.updated_at := pg_catalog.now();
    return new;
end
$$;

create table if not exists public.events (
    id bigint generated always as identity primary key,
    project text not null,
    event_id text not null,
    name text not null,
    user_id text,
    occurred_at timestamptz not null,
    properties jsonb not null default '{}'::jsonb,
    source text not null default 'events_api',
    ingested_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint events_natural_key unique (project, event_id),
    constraint events_name_not_blank check (btrim(name) <> '')
);
create index if not exists idx_events_name_time on public.events (name, occurred_at desc);
create index if not exists events_project_occurred_idx on public.events (project, occurred_at);

create table if not exists public.spend (
    id bigint generated always as identity primary key,
    project text not null,
    platform text not null,
    account_id text not null,
    campaign_id text not null,
    dt date not null,
    account_timezone text not null default 'America/Toronto',
    currency text not null default 'USD',
    spend numeric(14, 4) not null default 0,
    impressions bigint,
    clicks bigint,
    conversions numeric(14, 4),
    conversion_value numeric(14, 4),
    ingested_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint spend_natural_key unique (project, platform, account_id, campaign_id, dt),
    constraint spend_platform_known check (platform in ('meta', 'tiktok')),
    constraint spend_currency_iso check (currency ~ '^[A-Z]{3}$'),
    constraint spend_amounts_not_negative check (
        spend >= 0 and impressions >= 0 and clicks >= 0 and conversions >= 0 and conversion_value >= 0
    )
);
create index if not exists idx_spend_platform_dt on public.spend (platform, dt);
create index if not exists spend_project_dt_idx on public.spend (project, dt);

create table if not exists public.orders (
    id bigint generated always as identity primary key,
    project text not null,
    shop_domain text not null,
    order_id bigint not null,
    order_name text,
    placed_at timestamptz not null,
    source_updated_at timestamptz not null,
    cancelled_at timestamptz,
    financial_status text,
    currency text not null default 'USD',
    total_price numeric(14, 2) not null,
    subtotal_price numeric(14, 2),
    total_tax numeric(14, 2),
    total_discounts numeric(14, 2),
    total_refunded numeric(14, 2) not null default 0,
    customer_id bigint,
    line_items jsonb not null default '[]'::jsonb,
    ingested_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint orders_natural_key unique (project, shop_domain, order_id),
    constraint orders_currency_iso check (currency ~ '^[A-Z]{3}$'),
    constraint orders_amounts_not_negative check (total_price >= 0 and total_refunded >= 0)
);
create index if not exists orders_project_placed_idx on public.orders (project, placed_at);
create index if not exists orders_source_updated_idx on public.orders (source_updated_at);

create table if not exists public.metrics_daily (
    id bigint generated always as identity primary key,
    project text not null,
    day date not null,
    platform text not null,
    spend numeric(14, 4) not null default 0,
    impressions bigint not null default 0,
    clicks bigint not null default 0,
    conversions numeric(14, 4) not null default 0,
    orders bigint not null default 0,
    revenue numeric(14, 2) not null default 0,
    roas numeric(14, 4),
    cac numeric(14, 4),
    computed_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint metrics_daily_natural_key unique (project, day, platform),
    constraint metrics_daily_platform_known check (platform in ('meta', 'tiktok', 'all'))
);
create index if not exists idx_metrics_day on public.metrics_daily (day);

create or replace trigger events_set_updated_at before update on public.events
for each row execute function public.set_updated_at();
create or replace trigger spend_set_updated_at before update on public.spend
for each row execute function public.set_updated_at();
create or replace trigger orders_set_updated_at before update on public.orders
for each row execute function public.set_updated_at();
create or replace trigger metrics_daily_set_updated_at before update on public.metrics_daily
for each row execute function public.set_updated_at();

-- Only the ETL writes. Everything is revoked first and read access granted back: the API roles'
-- default privileges include TRUNCATE (RLS does not apply to it) and, on Postgres 17+, MAINTAIN.
revoke all on public.events, public.spend, public.orders, public.metrics_daily from anon, authenticated;
grant select on public.events, public.spend, public.orders, public.metrics_daily to authenticated;
grant all on public.events, public.spend, public.orders, public.metrics_daily to service_role;
revoke execute on function public.set_updated_at() from public, anon, authenticated;

alter table public.events enable row level security;
alter table public.events force row level security;
alter table public.spend enable row level security;
alter table public.spend force row level security;
alter table public.orders enable row level security;
alter table public.orders force row level security;
alter table public.metrics_daily enable row level security;
alter table public.metrics_daily force row level security;

-- Policies have no IF NOT EXISTS: each is guarded by the catalog.
do $policies$
declare
    t text;
begin
    foreach t in array array['events', 'spend', 'orders', 'metrics_daily'] loop
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
end
$policies$;
