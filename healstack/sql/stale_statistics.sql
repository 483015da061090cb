-- Tables whose rows changed by more than autovacuum's analyze threshold (50 rows plus a tenth of the table)
-- since their statistics were last taken, or never analyzed though they hold rows: plans are made for another
-- table than the one there.
select
    pg_catalog.format('%I.%I', s.schemaname, s.relname) as name,
    s.n_mod_since_analyze as changed,
    greatest(c.reltuples, 0)::bigint as estimate
from pg_catalog.pg_stat_user_tables as s
inner join pg_catalog.pg_class as c on s.relid = c.oid
where
    s.schemaname not in ('pg_catalog', 'information_schema', 'healstack')
    and s.n_mod_since_analyze > 50 + 0.1 * greatest(c.reltuples, 0)
order by 1;
