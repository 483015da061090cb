-- Invalid indexes (a failed concurrent build leaves one) with the table each is on, names unquoted.
select
    n.nspname as index_schema,
    ic.relname as index_name,
    tn.nspname || '.' || t.relname as table_name
from pg_catalog.pg_index as i
inner join pg_catalog.pg_class as ic on i.indexrelid = ic.oid
inner join pg_catalog.pg_namespace as n on ic.relnamespace = n.oid
inner join pg_catalog.pg_class as t on i.indrelid = t.oid
inner join pg_catalog.pg_namespace as tn on t.relnamespace = tn.oid
where not i.indisvalid
order by 1, 2;
