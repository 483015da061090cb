-- The tables the API can reach, with their columns: each must have an entry in the RLS contract, and each
-- entry may name only columns its table has. A table is reachable when anon or authenticated may use its
-- schema (public, and any schema a project exposes), or has RLS on; the platform's own schemas are not the
-- project's to contract. The scaffold also reads whether RLS is on and what anon and authenticated are granted.
select
    n.nspname || '.' || c.relname as name,
    array(
        select a.attname::text from pg_catalog.pg_attribute as a
        where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
        order by a.attnum
    ) as columns,
    c.relrowsecurity as rls,
    array(
        select r.rolname || ':' || lower(p.privilege)
        from pg_catalog.pg_roles as r
        cross join unnest(array['SELECT', 'INSERT', 'UPDATE', 'DELETE']) as p (privilege)
        where
            r.rolname in ('anon', 'authenticated')
            and pg_catalog.has_table_privilege(r.oid, c.oid, p.privilege)
    ) as grants
from pg_catalog.pg_class as c
inner join pg_catalog.pg_namespace as n on c.relnamespace = n.oid
where
    c.relkind in ('r', 'p')
    and not c.relispartition
    and n.nspname not in (
        'auth', 'storage', 'realtime', '_realtime', 'vault', 'extensions', 'graphql', 'graphql_public', 'net',
        'cron', 'pgsodium', 'pgsodium_masks', 'supabase_functions', 'supabase_migrations', 'pgbouncer',
        '_analytics', 'pgtle', 'information_schema', 'healstack'
    )
    and n.nspname not like 'pg\_%'
    and (
        c.relrowsecurity
        or exists (
            select from pg_catalog.pg_roles as r
            where
                r.rolname in ('anon', 'authenticated')
                and pg_catalog.has_schema_privilege(r.oid, n.oid, 'USAGE')
        )
    )
order by n.nspname, c.relname;
