-- The share of table and index block reads served from shared buffers (Supabase advises 99% for both), one
-- row each, always: "passed" when the share is high enough, "not evaluated" (with its reason) when too few
-- reads say nothing about the cache.
with reads as (
    select
        'tables' as object,
        sum(heap_blks_hit)::numeric as hits,
        sum(heap_blks_read)::numeric as misses
    from pg_catalog.pg_statio_user_tables
    union all
    select
        'indexes' as object,
        sum(idx_blks_hit)::numeric as hits,
        sum(idx_blks_read)::numeric as misses
    from pg_catalog.pg_statio_user_indexes
)

select
    object,
    pg_catalog.jsonb_build_object(
        'percent', round(100 * hits / nullif(hits + misses, 0), 2),
        'hits', hits,
        'reads', misses,
        'not_evaluated', case
            when coalesce(hits + misses, 0) < pg_catalog.current_setting('healstack.cache_min_blocks')::numeric
                then pg_catalog.format('%s block reads so far, too few to judge the cache', coalesce(hits + misses, 0))
        end,
        'passed', coalesce(
            100 * hits / nullif(hits + misses, 0)
            >= pg_catalog.current_setting('healstack.cache_hit_min_percent')::numeric,
            false
        )
    ) as detail
from reads;
