-- Indexes with their full definition and validity (a failed CREATE INDEX CONCURRENTLY leaves an
-- invalid one behind).
select
    pg_catalog.format('%I.%I', n.nspname, ic.relname) as key,
    n.nspname as schema,
    t.relname as relation,
    ic.relname as name,
    pg_catalog.pg_get_indexdef(i.indexrelid) as definition,
    i.indisvalid as valid,
    i.indisunique as is_unique,
    i.indisprimary as is_primary
from pg_catalog.pg_index as i
inner join pg_catalog.pg_class as ic on i.indexrelid = ic.oid
inner join pg_catalog.pg_class as t on i.indrelid = t.oid
inner join pg_catalog.pg_namespace as n on ic.relnamespace = n.oid
where n.nspname not in ('pg_catalog', 'information_schema') and n.nspname !~ '^pg_(toast|temp)'
order by 1;
