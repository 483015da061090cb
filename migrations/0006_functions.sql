-- The stack's functions: idempotent upserts the ETL calls with a JSON array of rows, the daily
-- metrics recompute, and a JSON health summary. All run with the caller's rights (SECURITY
-- INVOKER) and a pinned, empty search_path; only service_role may execute them.
--
-- Each upsert de-duplicates its input (the last row for a natural key wins), rewrites a row only
-- when a value actually changed, and returns {"inserted", "updated", "unchanged"} counts.

create or replace function public.upsert_events(p_rows jsonb) returns jsonb
language plpgsql
set search_path = ''
as $$
declare
    v_result jsonb;
begin
    if p_rows is null or jsonb_typeof(p_rows) <> 'array' then
        raise exception 'upsert_events expects a JSON array of rows, got %', coalesce(jsonb_typeof(p_rows), 'null')
        using errcode = '22023';
    end if;
    with incoming as (
        select distinct on (e.doc ->> 'project', e.doc ->> 'event_id')
            e.doc ->> 'project' as project,
            e.doc ->> 'event_id' as event_id,
            e.doc ->> 'name' as name,
            e.doc ->> 'user_id' as user_id,
            (e.doc ->> 'occurred_at')::timestamptz as occurred_at,
            coalesce(e.doc -> 'properties', '{}'::jsonb) as properties,
            coalesce(e.doc ->> 'source', 'events_api') as source
        from jsonb_array_elements(p_rows) with ordinality as e (doc, ord)
        order by e.doc ->> 'project', e.doc ->> 'event_id', e.ord desc
    ),
    written as (
        insert into public.events as t (project, event_id, name, user_id, occurred_at, properties, source)
        select project, event_id, name, user_id, occurred_at, properties, source from incoming
        on conflict (project, event_id) do update
        set name = excluded.name, user_id = excluded.user_id, occurred_at = excluded.occurred_at,
            properties = excluded.properties, source = excluded.source, updated_at = now()
        where (t.name, t.user_id, t.occurred_at, t.properties, t.source)
        is distinct from (excluded.name, excluded.user_id, excluded.occurred_at, excluded.properties, excluded.source)
        returning (t.xmax = 0) as inserted
    )
    select jsonb_build_object(
        'inserted', count(*) filter (where w.inserted),
        'updated', count(*) filter (where not w.inserted),
        'unchanged', (select count(*) from incoming) - count(*)
    ) into v_result
    from written as w;
    return v_result;
end
$$;

create or replace function public.upsert_spend(p_rows jsonb) returns jsonb
language plpgsql
set search_path = ''
as $$
declare
    v_result jsonb;
begin
    if p_rows is null or jsonb_typeof(p_rows) <> 'array' then
        raise exception 'upsert_spend expects a JSON array of rows, got %', coalesce(jsonb_typeof(p_rows), 'null')
        using errcode = '22023';
    end if;
    with incoming as (
        select distinct on (r.project, r.platform, r.account_id, r.campaign_id, r.dt) r.*
        from (
            select
                e.ord,
                e.doc ->> 'project' as project,
                e.doc ->> 'platform' as platform,
                e.doc ->> 'account_id' as account_id,
                e.doc ->> 'campaign_id' as campaign_id,
                (e.doc ->> 'dt')::date as dt,
                coalesce(e.doc ->> 'account_timezone', 'America/Toronto') as account_timezone,
                coalesce(e.doc ->> 'currency', 'USD') as currency,
                coalesce((e.doc ->> 'spend')::numeric, 0) as spend,
                (e.doc ->> 'impressions')::bigint as impressions,
                (e.doc ->> 'clicks')::bigint as clicks,
                (e.doc ->> 'conversions')::numeric as conversions,
                (e.doc ->> 'conversion_value')::numeric as conversion_value
            from jsonb_array_elements(p_rows) with ordinality as e (doc, ord)
        ) as r
        order by r.project, r.platform, r.account_id, r.campaign_id, r.dt, r.ord desc
    ),
    written as (
        insert into public.spend as t (
            project, platform, account_id, campaign_id, dt, account_timezone, currency,
            spend, impressions, clicks, conversions, conversion_value
        )
        select
            project, platform, account_id, campaign_id, dt, account_timezone, currency,
            spend, impressions, clicks, conversions, conversion_value
        from incoming
        on conflict (project, platform, account_id, campaign_id, dt) do update
        set account_timezone = excluded.account_timezone, currency = excluded.currency, spend = excluded.spend,
            impressions = excluded.impressions, clicks = excluded.clicks, conversions = excluded.conversions,
            conversion_value = excluded.conversion_value, updated_at = now()
        where (t.account_timezone, t.currency, t.spend, t.impressions, t.clicks, t.conversions, t.conversion_value)
        is distinct from (excluded.account_timezone, excluded.currency, excluded.spend, excluded.impressions,
            excluded.clicks, excluded.conversions, excluded.conversion_value)
        returning (t.xmax = 0) as inserted
    )
    select jsonb_build_object(
        'inserted', count(*) filter (where w.inserted),
        'updated', count(*) filter (where not w.inserted),
        'unchanged', (select count(*) from incoming) - count(*)
    ) into v_result
    from written as w;
    return v_result;
end
$$;

-- Orders: a re-pulled older version of an order (source_updated_at earlier than the stored one)
-- never overwrites a newer one.
create or replace function public.upsert_orders(p_rows jsonb) returns jsonb
language plpgsql
set search_path = ''
as $$
declare
    v_result jsonb;
begin
    if p_rows is null or jsonb_typeof(p_rows) <> 'array' then
        raise exception 'upsert_orders expects a JSON array of rows, got %', coalesce(jsonb_typeof(p_rows), 'null')
        using errcode = '22023';
    end if;
    with incoming as (
        select distinct on (r.project, r.shop_domain, r.order_id) r.*
        from (
            select
                e.ord,
                e.doc ->> 'project' as project,
                e.doc ->> 'shop_domain' as shop_domain,
                (e.doc ->> 'order_id')::bigint as order_id,
                e.doc ->> 'order_name' as order_name,
                (e.doc ->> 'placed_at')::timestamptz as placed_at,
                (e.doc ->> 'source_updated_at')::timestamptz as source_updated_at,
                (e.doc ->> 'cancelled_at')::timestamptz as cancelled_at,
                e.doc ->> 'financial_status' as financial_status,
                coalesce(e.doc ->> 'currency', 'USD') as currency,
                (e.doc ->> 'total_price')::numeric as total_price,
                (e.doc ->> 'subtotal_price')::numeric as subtotal_price,
                (e.doc ->> 'total_tax')::numeric as total_tax,
                (e.doc ->> 'total_discounts')::numeric as total_discounts,
                coalesce((e.doc ->> 'total_refunded')::numeric, 0) as total_refunded,
                (e.doc ->> 'customer_id')::bigint as customer_id,
                coalesce(e.doc -> 'line_items', '[]'::jsonb) as line_items
            from jsonb_array_elements(p_rows) with ordinality as e (doc, ord)
        ) as r
        order by r.project, r.shop_domain, r.order_id, r.source_updated_at desc, r.ord desc
    ),
    written as (
        insert into public.orders as t (
            project, shop_domain, order_id, order_name, placed_at, source_updated_at, cancelled_at,
            financial_status, currency, total_price, subtotal_price, total_tax, total_discounts,
            total_refunded, customer_id, line_items
        )
        select
            project, shop_domain, order_id, order_name, placed_at, source_updated_at, cancelled_at,
            financial_status, currency, total_price, subtotal_price, total_tax, total_discounts,
            total_refunded, customer_id, line_items
        from incoming
        on conflict (project, shop_domain, order_id) do update
        set order_name = excluded.order_name, placed_at = excluded.placed_at,
            source_updated_at = excluded.source_updated_at, cancelled_at = excluded.cancelled_at,
            financial_status = excluded.financial_status, currency = excluded.currency,
            total_price = excluded.total_price, subtotal_price = excluded.subtotal_price,
            total_tax = excluded.total_tax, total_discounts = excluded.total_discounts,
            total_refunded = excluded.total_refunded, customer_id = excluded.customer_id,
            line_items = excluded.line_items, updated_at = now()
        where excluded.source_updated_at >= t.source_updated_at
        and (t.order_name, t.placed_at, t.source_updated_at, t.cancelled_at, t.financial_status, t.currency,
            t.total_price, t.subtotal_price, t.total_tax, t.total_discounts, t.total_refunded, t.customer_id,
            t.line_items)
        is distinct from (excluded.order_name, excluded.placed_at, excluded.source_updated_at,
            excluded.cancelled_at, excluded.financial_status, excluded.currency, excluded.total_price,
            excluded.subtotal_price, excluded.total_tax, excluded.total_discounts, excluded.total_refunded,
            excluded.customer_id, excluded.line_items)
        returning (t.xmax = 0) as inserted
    )
    select jsonb_build_object(
        'inserted', count(*) filter (where w.inserted),
        'updated', count(*) filter (where not w.inserted),
        'unchanged', (select count(*) from incoming) - count(*)
    ) into v_result
    from written as w;
    return v_result;
end
$$;

-- Daily metrics per project and platform for the days p_from..p_to (America/Toronto days).
-- Platform rows ('meta', 'tiktok') carry what the ad platform reports: conversions and their value
-- as revenue. The 'all' row blends every platform's spend with Shopify: orders are the day's
-- non-cancelled orders, revenue is their total price net of refunds, counted on the day the order
-- was placed (a later refund lowers that day's revenue when it is recomputed). ROAS = revenue /
-- spend and CAC = spend / orders (platform rows: / conversions), NULL when the divisor is 0.
-- Orders are bucketed by Toronto-local day through timestamptz bounds, so 23 h and 25 h DST days
-- hold exactly their own hours. Rows whose sources vanished are removed; unchanged rows are not
-- rewritten. Returns the number of rows written or removed.
create or replace function public.recompute_metrics_daily(p_from date, p_to date) returns integer
language plpgsql
set search_path = ''
as $$
declare
    v_written integer;
begin
    if p_from is null or p_to is null or p_to < p_from then
        raise exception 'recompute_metrics_daily needs p_from <= p_to, got % .. %', p_from, p_to
        using errcode = '22023';
    end if;
    with platform_days as (
        select
            s.project, s.dt as day, s.platform,
            sum(s.spend) as spend,
            coalesce(sum(s.impressions), 0) as impressions,
            coalesce(sum(s.clicks), 0) as clicks,
            coalesce(sum(s.conversions), 0) as conversions,
            coalesce(sum(s.conversion_value), 0) as revenue
        from public.spend as s
        where s.dt between p_from and p_to
        group by s.project, s.dt, s.platform
    ),
    order_days as (
        select
            o.project,
            (o.placed_at at time zone 'America/Toronto')::date as day,
            count(*) as orders,
            sum(o.total_price - o.total_refunded) as revenue
        from public.orders as o
        where o.placed_at >= (p_from::timestamp at time zone 'America/Toronto')
        and o.placed_at < ((p_to + 1)::timestamp at time zone 'America/Toronto')
        and o.cancelled_at is null
        group by o.project, (o.placed_at at time zone 'America/Toronto')::date
    ),
    blended as (
        select
            coalesce(p.project, o.project) as project,
            coalesce(p.day, o.day) as day,
            coalesce(p.spend, 0) as spend,
            coalesce(p.impressions, 0) as impressions,
            coalesce(p.clicks, 0) as clicks,
            coalesce(p.conversions, 0) as conversions,
            coalesce(o.orders, 0) as orders,
            coalesce(o.revenue, 0) as revenue
        from (
            select
                project, day, sum(spend) as spend, sum(impressions) as impressions,
                sum(clicks) as clicks, sum(conversions) as conversions
            from platform_days group by project, day
        ) as p
        full join order_days as o on p.project = o.project and p.day = o.day
    ),
    computed as (
        select
            project, day, platform, spend, impressions, clicks, conversions, 0::bigint as orders,
            round(revenue, 2) as revenue,
            round(revenue / nullif(spend, 0), 4) as roas,
            round(spend / nullif(conversions, 0), 4) as cac
        from platform_days
        union all
        select
            project, day, 'all', spend, impressions, clicks, conversions, orders,
            round(revenue, 2),
            round(revenue / nullif(spend, 0), 4),
            round(spend / nullif(orders, 0), 4)
        from blended
    ),
    upserted as (
        insert into public.metrics_daily as m (
            project, day, platform, spend, impressions, clicks, conversions, orders, revenue, roas, cac
        )
        select project, day, platform, spend, impressions, clicks, conversions, orders, revenue, roas, cac
        from computed
        on conflict (project, day, platform) do update
        set spend = excluded.spend, impressions = excluded.impressions, clicks = excluded.clicks,
            conversions = excluded.conversions, orders = excluded.orders, revenue = excluded.revenue,
            roas = excluded.roas, cac = excluded.cac, computed_at = now(), updated_at = now()
        where (m.spend, m.impressions, m.clicks, m.conversions, m.orders, m.revenue, m.roas, m.cac)
        is distinct from (excluded.spend, excluded.impressions, excluded.clicks, excluded.conversions,
            excluded.orders, excluded.revenue, excluded.roas, excluded.cac)
        returning 1
    ),
    removed as (
        delete from public.metrics_daily as m
        where m.day between p_from and p_to
        and not exists (
            select from computed as c where c.project = m.project and c.day = m.day and c.platform = m.platform
        )
        returning 1
    )
    select (select count(*) from upserted) + (select count(*) from removed) into v_written;
    return v_written;
end
$$;

-- A JSON health summary of the stack: expected tables present, RLS enabled and forced, policy
-- counts, row estimates, extensions. "ok" is true only when nothing is missing or unprotected.
create or replace function public.system_healthcheck() returns jsonb
language sql
stable
set search_path = ''
as $$
    with expected (name) as (
        values ('events'), ('spend'), ('orders'), ('metrics_daily'), ('etl_runs'), ('etl_cursors'),
        ('facts'), ('decision_sync_event_logs'), ('observability_logs'), ('support_curated_replies'),
        ('agent_approvals'), ('agent_feedback'), ('agent_queries')
    ),
    present as (
        select
            c.relname as name, c.relrowsecurity as rls, c.relforcerowsecurity as forced,
            greatest(c.reltuples, 0)::bigint as estimated_rows,
            (select count(*) from pg_catalog.pg_policy as p where p.polrelid = c.oid) as policies
        from pg_catalog.pg_class as c
        inner join pg_catalog.pg_namespace as n on c.relnamespace = n.oid
        where n.nspname = 'public' and c.relkind in ('r', 'p')
    ),
    facts as (
        select
            coalesce(jsonb_agg(e.name order by e.name) filter (where p.name is null), '[]') as missing,
            coalesce(jsonb_agg(p.name order by p.name) filter (where not p.rls), '[]') as without_rls,
            coalesce(jsonb_agg(p.name order by p.name) filter (where not p.forced), '[]') as without_force,
            coalesce(jsonb_agg(p.name order by p.name) filter (where p.policies = 0), '[]') as without_policy
        from expected as e
        full join present as p on e.name = p.name
    )
    select jsonb_build_object(
        'ok', f.missing = '[]' and f.without_rls = '[]' and f.without_force = '[]' and f.without_policy = '[]',
        'checked_at', now(),
        'database', current_database(),
        'server_version', current_setting('server_version'),
        'missing_tables', f.missing,
        'tables_without_rls', f.without_rls,
        'tables_without_force_rls', f.without_force,
        'tables_without_policies', f.without_policy,
        'tables', (
            select coalesce(jsonb_object_agg(p.name, jsonb_build_object(
                'rls', p.rls, 'force_rls', p.forced, 'policies', p.policies, 'estimated_rows', p.estimated_rows
            )), '{}') from present as p
        ),
        'extensions', (select jsonb_agg(x.extname order by x.extname) from pg_catalog.pg_extension as x)
    )
    from facts as f
$$;

revoke execute on function public.upsert_events(jsonb), public.upsert_spend(jsonb), public.upsert_orders(jsonb),
public.recompute_metrics_daily(date, date), public.system_healthcheck() from public, anon, authenticated;
grant execute on function public.upsert_events(jsonb), public.upsert_spend(jsonb), public.upsert_orders(jsonb),
public.recompute_metrics_daily(date, date), public.system_healthcheck() to service_role;
