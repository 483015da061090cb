-- Columns of tables, views and foreign tables: type, nullability, default, generated, identity.
-- Position is not compared (a column re-added by a delta lands last and is still the same column);
-- rows come in table order so a recreated table keeps its column order.
select
    pg_catalog.format('%I.%I.%I', n.nspname, c.relname, a.attname) as key,
    n.nspname as schema,
    c.relname as relation,
    a.attname as name,
    pg_catalog.format_type(a.atttypid, a.atttypmod) as type,
    a.attnotnull as not_null,
    pg_catalog.pg_get_expr(ad.adbin, ad.adrelid) as default_expr,
    nullif(a.attgenerated::text, '') as generated,
    nullif(a.attidentity::text, '') as identity
from pg_catalog.pg_attribute as a
inner join pg_catalog.pg_class as c on a.attrelid = c.oid
inner join pg_catalog.pg_namespace as n on c.relnamespace = n.oid
left join pg_catalog.pg_attrdef as ad on a.attrelid = ad.adrelid and a.attnum = ad.adnum
where
    a.attnum > 0 and not a.attisdropped
    and c.relkind in ('r', 'p', 'v', 'm', 'f')
    and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname !~ '^pg_(toast|temp)'
    and not exists (
        select from pg_catalog.pg_depend as d
        where d.classid = 'pg_catalog.pg_class'::regclass and d.objid = c.oid and d.deptype = 'e'
    )
order by n.nspname, c.relname, a.attnum;
