-- Estimated wasted space in tables and B-tree indexes: pages beyond what their rows need, from the planner's
-- row estimate and pg_stats' average column widths (tuple header, alignment, line pointer, fill factor). An
-- estimate, as PgHero's and `supabase inspect db bloat` are (pgstattuple measures exactly); relations never
-- analyzed have no widths and are left out.
with relations as (
    select
        pg_catalog.format('%I.%I', n.nspname, c.relname) as object,
        'table' as kind,
        c.relpages::numeric as pages,
        ceil(
            c.reltuples * (ceil((24 + w.width) / 8.0) * 8 + 4)
            / (pg_catalog.current_setting('block_size')::numeric * coalesce(f.fillfactor, 100) / 100 - 24)
        )::numeric as needed
    from pg_catalog.pg_class as c
    inner join pg_catalog.pg_namespace as n on c.relnamespace = n.oid
    cross join
        lateral (
            select sum(st.avg_width) as width from pg_catalog.pg_stats as st
            where st.schemaname = n.nspname and st.tablename = c.relname
        ) as w
    left join lateral (
        select split_part(o, '=', 2)::numeric as fillfactor from unnest(c.reloptions) as o
        where split_part(o, '=', 1) = 'fillfactor'
    ) as f on true
    where
        c.relkind in ('r', 'm')
        and c.reltuples > 0
        and w.width is not null
        and n.nspname not in ('pg_catalog', 'information_schema')
    union all
    select
        pg_catalog.format('%I.%I', n.nspname, i.relname) as object,
        'index' as kind,
        i.relpages::numeric as pages,
        1 + ceil(
            i.reltuples * (ceil((8 + w.width) / 8.0) * 8 + 4)
            / (pg_catalog.current_setting('block_size')::numeric * 0.9 - 24)
        )::numeric as needed
    from pg_catalog.pg_index as x
    inner join pg_catalog.pg_class as i on x.indexrelid = i.oid
    inner join pg_catalog.pg_class as c on x.indrelid = c.oid
    inner join pg_catalog.pg_namespace as n on i.relnamespace = n.oid
    inner join pg_catalog.pg_am as am on i.relam = am.oid
    cross join
        lateral (
            select
                sum(st.avg_width) as width,
                count(*) as columns
            from unnest(x.indkey::int2[]) as k (attnum)
            inner join pg_catalog.pg_attribute as a on c.oid = a.attrelid and k.attnum = a.attnum
            inner join pg_catalog.pg_stats as st
                on n.nspname = st.schemaname and c.relname = st.tablename and a.attname = st.attname
        ) as w
    where
        am.amname = 'btree'
        and i.reltuples > 0
        and w.columns = x.indnatts
        and n.nspname not in ('pg_catalog', 'information_schema')
)

select
    object,
    pg_catalog.jsonb_build_object(
        'kind', kind,
        'bytes', wasted,
        'size', pg_catalog.pg_size_pretty(wasted),
        'percent', round(100 * (pages - needed) / pages, 1)
    ) as detail
from (
    select
        relations.*,
        ((relations.pages - relations.needed) * pg_catalog.current_setting('block_size')::numeric)::bigint as wasted
    from relations
    where relations.pages > 0
) as measured
where
    wasted >= pg_catalog.current_setting('healstack.bloat_min_bytes')::bigint
    and 100 * (pages - needed) / pages > pg_catalog.current_setting('healstack.bloat_max_percent')::numeric
order by wasted desc, object asc;
