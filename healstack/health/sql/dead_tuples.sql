-- Tables whose dead rows are a large share of all their rows: every scan reads them, and the table grows.
select
    pg_catalog.format('%I.%I', schemaname, relname) as object,
    pg_catalog.jsonb_build_object(
        'dead', n_dead_tup,
        'rows', n_live_tup,
        'percent', round(100.0 * n_dead_tup / (n_live_tup + n_dead_tup), 1)
    ) as detail
from pg_catalog.pg_stat_user_tables
where
    n_dead_tup >= pg_catalog.current_setting('healstack.dead_tuple_min')::bigint
    and n_dead_tup > 0
    and 100.0 * n_dead_tup / (n_live_tup + n_dead_tup)
    > pg_catalog.current_setting('healstack.dead_tuple_max_percent')::numeric
order by n_dead_tup desc, object asc;
