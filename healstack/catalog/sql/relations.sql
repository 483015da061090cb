-- Tables, views, materialized views, sequences and foreign tables, with RLS flags and options.
-- Objects that belong to an extension are left out (the extension row covers them).
select
    pg_catalog.format('%I.%I', n.nspname, c.relname) as key,
    n.nspname as schema,
    c.relname as name,
    c.relkind::text as kind,
    c.relrowsecurity as rls_enabled,
    c.relforcerowsecurity as rls_forced,
    pg_catalog.pg_get_userbyid(c.relowner) as owner,
    coalesce(c.reloptions, '{}') as options,
    case when c.relkind in ('v', 'm') then pg_catalog.pg_get_viewdef(c.oid) end as definition,
    -- an identity column's sequence is created with its column, never on its own
    exists(
        select from pg_catalog.pg_depend as d
        where
            d.classid = 'pg_catalog.pg_class'::regclass and d.objid = c.oid
            and d.refclassid = 'pg_catalog.pg_class'::regclass and d.deptype = 'i'
    ) as identity_sequence
from pg_catalog.pg_class as c
inner join pg_catalog.pg_namespace as n on c.relnamespace = n.oid
where
    c.relkind in ('r', 'p', 'v', 'm', 'S', 'f')
    and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname !~ '^pg_(toast|temp)'
    and not exists (
        select from pg_catalog.pg_depend as d
        where d.classid = 'pg_catalog.pg_class'::regclass and d.objid = c.oid and d.deptype = 'e'
    )
order by 1;
