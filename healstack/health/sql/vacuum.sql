-- Tables waiting on autovacuum, or left out of it: dead rows past its threshold (autovacuum_vacuum_threshold
-- plus autovacuum_vacuum_scale_factor of the table, the table's own settings first), autovacuum turned off for
-- a table with dead rows, and tables of many rows never vacuumed nor analyzed. Fewer dead rows than
-- vacuum_min_rows are not worth a finding: autovacuum comes round within a minute or so.
with tables as (
    select
        s.schemaname,
        s.relname,
        s.n_live_tup,
        s.n_dead_tup,
        greatest(s.last_vacuum, s.last_autovacuum) as vacuumed,
        greatest(s.last_analyze, s.last_autoanalyze) as analyzed,
        coalesce(
            (
                select split_part(o, '=', 2) from unnest(c.reloptions) as o
                where split_part(o, '=', 1) = 'autovacuum_enabled'
            ),
            'on'
        )::boolean and pg_catalog.current_setting('autovacuum')::boolean as autovacuum,
        coalesce(
            (
                select split_part(o, '=', 2) from unnest(c.reloptions) as o
                where split_part(o, '=', 1) = 'autovacuum_vacuum_threshold'
            ),
            pg_catalog.current_setting('autovacuum_vacuum_threshold')
        )::numeric + coalesce(
            (
                select split_part(o, '=', 2) from unnest(c.reloptions) as o
                where split_part(o, '=', 1) = 'autovacuum_vacuum_scale_factor'
            ),
            pg_catalog.current_setting('autovacuum_vacuum_scale_factor')
        )::numeric * greatest(c.reltuples, 0) as threshold
    from pg_catalog.pg_stat_user_tables as s
    inner join pg_catalog.pg_class as c on s.relid = c.oid
)

select
    pg_catalog.format('%I.%I', schemaname, relname) as object,
    pg_catalog.jsonb_build_object(
        'dead', n_dead_tup,
        'rows', n_live_tup,
        'threshold', round(threshold),
        'last_vacuum', vacuumed,
        'last_analyze', analyzed,
        'autovacuum', autovacuum,
        'why', case
            when n_dead_tup > threshold and not autovacuum then 'autovacuum is off for it'
            when n_dead_tup > threshold then 'past autovacuum''s threshold, not vacuumed yet'
            else 'never vacuumed nor analyzed'
        end
    ) as detail
from tables
where
    (n_dead_tup > threshold and n_dead_tup >= pg_catalog.current_setting('healstack.vacuum_min_rows')::bigint)
    or (
        vacuumed is null and analyzed is null
        and n_live_tup >= pg_catalog.current_setting('healstack.vacuum_min_rows')::bigint
    )
order by n_dead_tup desc, object asc;
