-- Foreign keys without an index whose leading columns are the key's columns, and indexes that
-- duplicate another (same table, columns, operator classes, expressions, predicate, uniqueness and method).
select
    'unindexed_fk' as finding,
    pg_catalog.format('%I.%I.%I', n.nspname, c.relname, k.conname) as key,
    n.nspname as schema,
    pg_catalog.pg_get_constraintdef(k.oid) as detail
from pg_catalog.pg_constraint as k
inner join pg_catalog.pg_class as c on k.conrelid = c.oid
inner join pg_catalog.pg_namespace as n on c.relnamespace = n.oid
where
    k.contype = 'f'
    and not exists (
        select from pg_catalog.pg_index as i
        where
            i.indrelid = k.conrelid
            and (i.indkey::int2[])[0:array_length(k.conkey, 1) - 1] operator (pg_catalog.@>) k.conkey
            and (i.indkey::int2[])[0:array_length(k.conkey, 1) - 1] operator (pg_catalog.<@) k.conkey
    )
union all
select
    'duplicate_index' as finding,
    pg_catalog.format('%I.%I', n.nspname, ic.relname) as key,
    n.nspname as schema,
    pg_catalog.format('%I.%I', n.nspname, other.relname) as detail
from pg_catalog.pg_index as i
inner join pg_catalog.pg_class as ic on i.indexrelid = ic.oid
inner join pg_catalog.pg_namespace as n on ic.relnamespace = n.oid
inner join pg_catalog.pg_index as j
    on
        i.indrelid = j.indrelid and i.indexrelid > j.indexrelid
        and i.indkey = j.indkey and i.indclass = j.indclass
        -- a unique index and a plain one on the same columns enforce different things: not duplicates
        and i.indisunique = j.indisunique
        and coalesce(pg_catalog.pg_get_expr(i.indexprs, i.indrelid), '')
        = coalesce(pg_catalog.pg_get_expr(j.indexprs, j.indrelid), '')
        and coalesce(pg_catalog.pg_get_expr(i.indpred, i.indrelid), '')
        = coalesce(pg_catalog.pg_get_expr(j.indpred, j.indrelid), '')
inner join pg_catalog.pg_class as other on j.indexrelid = other.oid
where ic.relam = other.relam
order by 1, 2;
