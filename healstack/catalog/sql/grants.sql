-- Privileges granted on schemas, relations, columns and functions, one row per grantee and
-- privilege (PUBLIC shown as "public"). A NULL ACL means the built-in default (the owner holds
-- everything; PUBLIC may execute functions), so it is read as acldefault(): an object whose ACL was
-- written out explicitly with the same privileges compares equal.
with acl as (
    select
        n.nspname as schema,
        'schema' as object_kind,
        quote_ident(n.nspname) as object,
        coalesce(n.nspacl, pg_catalog.acldefault('n', n.nspowner)) as acl
    from pg_catalog.pg_namespace as n
    union all
    select
        n.nspname as schema,
        case when c.relkind = 'S' then 'sequence' else 'table' end as object_kind,
        pg_catalog.format('%I.%I', n.nspname, c.relname) as object,
        coalesce(c.relacl, pg_catalog.acldefault((case when c.relkind = 'S' then 's' else 'r' end)::"char", c.relowner))  -- noqa: RF06
            as acl
    from pg_catalog.pg_class as c
    inner join pg_catalog.pg_namespace as n on c.relnamespace = n.oid
    where c.relkind in ('r', 'p', 'v', 'm', 'S', 'f')
    union all
    select
        n.nspname as schema,
        'column' as object_kind,
        pg_catalog.format('%I.%I.%I', n.nspname, c.relname, a.attname) as object,
        a.attacl as acl
    from pg_catalog.pg_attribute as a
    inner join pg_catalog.pg_class as c on a.attrelid = c.oid
    inner join pg_catalog.pg_namespace as n on c.relnamespace = n.oid
    where a.attacl is not null and a.attnum > 0 and not a.attisdropped
    union all
    select
        n.nspname as schema,
        'function' as object_kind,
        pg_catalog.format('%I.%I(%s)', n.nspname, p.proname, pg_catalog.pg_get_function_identity_arguments(p.oid))
            as object,
        coalesce(p.proacl, pg_catalog.acldefault('f', p.proowner)) as acl
    from pg_catalog.pg_proc as p
    inner join pg_catalog.pg_namespace as n on p.pronamespace = n.oid
)

select
    pg_catalog.format(
        '%s %s on %s %s to %s', x.privilege_type, case when x.is_grantable then '(grantable)' else '' end,
        acl.object_kind, acl.object, case when x.grantee = 0 then 'public' else pg_catalog.pg_get_userbyid(x.grantee) end)
        as key,
    acl.schema,
    acl.object_kind,
    acl.object,
    case when x.grantee = 0 then 'public' else pg_catalog.pg_get_userbyid(x.grantee) end as grantee,
    x.privilege_type as privilege,
    x.is_grantable as grantable
from acl
cross join lateral pg_catalog.aclexplode(acl.acl) as x
where acl.schema not in ('pg_catalog', 'information_schema') and acl.schema !~ '^pg_(toast|temp)'
order by 1;
