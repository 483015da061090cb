-- What the catalog guarantees about each user table, so a rule a valid constraint already enforces
-- passes without a scan: columns, NOT NULL columns, the primary key, valid unique indexes, validated
-- single-column foreign keys, fixed-width columns and bytewise-comparable columns.
select
    n.nspname as schema,
    c.relname as name,
    array(
        select a.attname::text from pg_catalog.pg_attribute as a
        where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
    ) as columns,
    array(
        select a.attname::text from pg_catalog.pg_attribute as a
        where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped and a.attnotnull
    ) as not_null,
    array(
        select a.attname::text
        from pg_catalog.pg_index as i
        inner join pg_catalog.pg_attribute as a on i.indrelid = a.attrelid and a.attnum = any(i.indkey)
        where i.indrelid = c.oid and i.indisprimary
    ) as primary_key,
    array(
        select
            ic.relname || ':' || pg_catalog.array_to_string(array(
                select a.attname from pg_catalog.pg_attribute as a
                where a.attrelid = i.indrelid and a.attnum = any(i.indkey)
            ), ',')
        from pg_catalog.pg_index as i
        inner join pg_catalog.pg_class as ic on i.indexrelid = ic.oid
        where
            i.indrelid = c.oid and i.indisunique and i.indisvalid and i.indpred is null
            and 0 <> all(i.indkey)
    ) as unique_sets,
    array(
        select k.conname || ':' || a.attname || ':' || f.relname || ':' || fa.attname
        from pg_catalog.pg_constraint as k
        inner join pg_catalog.pg_attribute as a on k.conrelid = a.attrelid and a.attnum = k.conkey[1]
        inner join pg_catalog.pg_class as f on k.confrelid = f.oid
        inner join pg_catalog.pg_attribute as fa on k.confrelid = fa.attrelid and fa.attnum = k.confkey[1]
        where
            k.conrelid = c.oid and k.contype = 'f' and k.convalidated
            and pg_catalog.array_length(k.conkey, 1) = 1
    ) as foreign_keys,
    array(
        select a.attname::text
        from pg_catalog.pg_attribute as a
        inner join pg_catalog.pg_type as t on a.atttypid = t.oid
        where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped and t.typlen > 0
    ) as fixed_width,
    array(
        select a.attname::text
        from pg_catalog.pg_attribute as a
        inner join pg_catalog.pg_collation as co on a.attcollation = co.oid
        where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped and co.collisdeterministic
    ) as bytewise_equal
from pg_catalog.pg_class as c
inner join pg_catalog.pg_namespace as n on c.relnamespace = n.oid
where
    c.relkind in ('r', 'p', 'v', 'm', 'f')
    and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname !~ '^pg_(toast|temp)'
order by 1, 2;
