-- Every table's columns as a probe must fill them: the type, whether a row needs a value (not null, no
-- default, not generated), a value of an enum type, and the table and column a single-column foreign key
-- references (so the probe can create the parent row first), and whether the column alone is unique (a
-- tenant can then have one row only, as a profile per user).
select
    n.nspname || '.' || c.relname as table_name,
    a.attname::text as name,
    pg_catalog.format_type(a.atttypid, a.atttypmod) as type,
    t.typcategory as category,
    a.attnotnull and not a.atthasdef and a.attidentity = '' and a.attgenerated = '' as required,
    (
        select e.enumlabel::text from pg_catalog.pg_enum as e
        where e.enumtypid = a.atttypid
        order by e.enumsortorder limit 1
    ) as enum_value,
    fk.references_table,
    fk.references_column,
    exists(
        select from pg_catalog.pg_index as i
        where i.indrelid = c.oid and i.indisunique and i.indnkeyatts = 1 and i.indkey[0] = a.attnum
    ) as is_unique
from pg_catalog.pg_class as c
inner join pg_catalog.pg_namespace as n on c.relnamespace = n.oid
inner join pg_catalog.pg_attribute as a on c.oid = a.attrelid
inner join pg_catalog.pg_type as t on a.atttypid = t.oid
left join lateral (
    select
        rn.nspname || '.' || rc.relname as references_table,
        ra.attname::text as references_column
    from pg_catalog.pg_constraint as k
    inner join pg_catalog.pg_class as rc on k.confrelid = rc.oid
    inner join pg_catalog.pg_namespace as rn on rc.relnamespace = rn.oid
    inner join pg_catalog.pg_attribute as ra on k.confrelid = ra.attrelid and k.confkey[1] = ra.attnum
    where k.conrelid = c.oid and k.contype = 'f' and k.conkey = array[a.attnum]
    order by k.conname
    limit 1
) as fk on true
where
    c.relkind in ('r', 'p') and a.attnum > 0 and not a.attisdropped
    and n.nspname not like 'pg\_%' and n.nspname <> 'information_schema'
order by table_name, a.attnum;
