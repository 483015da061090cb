-- Every table's estimated rows and its bytes (heap, indexes, all): the run's inventory, and what the health
-- report compares with the previous run. Rows are the planner's and the statistics' estimate, never a count.
select
    pg_catalog.format('%I.%I', n.nspname, c.relname) as object,
    pg_catalog.jsonb_build_object(
        'rows', greatest(c.reltuples::bigint, coalesce(s.n_live_tup, 0), 0),
        'total_bytes', pg_catalog.pg_total_relation_size(c.oid),
        'table_bytes', pg_catalog.pg_table_size(c.oid),
        'index_bytes', pg_catalog.pg_indexes_size(c.oid)
    ) as detail
from pg_catalog.pg_class as c
inner join pg_catalog.pg_namespace as n on c.relnamespace = n.oid
left join pg_catalog.pg_stat_all_tables as s on c.oid = s.relid
where
    c.relkind in ('r', 'p', 'm')
    and n.nspname not in ('pg_catalog', 'information_schema')
    and n.nspname !~ '^pg_toast'
order by pg_catalog.pg_total_relation_size(c.oid) desc, object asc;
