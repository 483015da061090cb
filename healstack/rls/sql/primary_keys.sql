-- Each table's primary key columns, in key order: probes address the rows they seed by it.
select
    n.nspname || '.' || c.relname as name,
    array(
        select a.attname::text
        from pg_catalog.pg_attribute as a
        where a.attrelid = c.oid and a.attnum = any(i.indkey)
        order by pg_catalog.array_position(i.indkey::int2[], a.attnum)
    ) as columns
from pg_catalog.pg_class as c
inner join pg_catalog.pg_namespace as n on c.relnamespace = n.oid
inner join pg_catalog.pg_index as i on c.oid = i.indrelid and i.indisprimary
where n.nspname not like 'pg\_%' and n.nspname <> 'information_schema';
