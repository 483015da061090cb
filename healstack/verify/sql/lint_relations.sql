-- Facts the security lints need about each table and view outside the platform schemas: RLS
-- flags, policy count, whether the owner bypasses RLS, whether the API roles can reach it (a
-- materialized or foreign table only by SELECT: RLS never applies to it, and what it holds is read), and
-- for views which guarded tables they read (RLS on, or not readable by the API roles directly) and
-- whether auth.users, and whether the API roles could read auth.users directly anyway.
with api_roles as (
    select
        exists(
            select from pg_catalog.pg_roles
            where rolname = 'anon'
        ) as has_anon,
        exists(
            select from pg_catalog.pg_roles
            where rolname = 'authenticated'
        ) as has_authenticated
),

-- PostgREST's db_schemas where it is set (Supabase keeps it as pgrst.db_schemas): a schema left out of it is
-- not served, whatever its grants; unset, every schema the roles may use counts.
exposed_schemas as (
    select
        n.nspname as name,
        coalesce(
            n.nspname = any(
                pg_catalog.string_to_array(
                    pg_catalog.replace(pg_catalog.current_setting('pgrst.db_schemas', true), ' ', ''), ','
                )
            ),
            true
        ) as exposed
    from pg_catalog.pg_namespace as n
),

relations as (
    select
        c.oid,
        n.nspname as schema,
        c.relname as name,
        c.relkind::text as kind,
        c.relrowsecurity as rls_enabled,
        c.relforcerowsecurity as rls_forced,
        coalesce(c.reloptions, '{}') as options,
        pg_catalog.format('%I.%I', n.nspname, c.relname) as key,
        (
            select r.rolsuper or r.rolbypassrls from pg_catalog.pg_roles as r
            where r.oid = c.relowner)
            as owner_bypasses_rls,
        (
            select count(*) from pg_catalog.pg_policy as p
            where p.polrelid = c.oid
        ) as policies,
        exists(
            select from pg_catalog.pg_constraint as k
            where k.conrelid = c.oid and k.contype = 'p')
            as has_primary_key,
        case
            when (select a.has_anon from api_roles as a)
                then
                    pg_catalog.has_schema_privilege('anon', n.oid, 'USAGE')
                    and pg_catalog.has_table_privilege(
                        'anon', c.oid,
                        case when c.relkind in ('m', 'f') then 'SELECT' else 'SELECT, INSERT, UPDATE, DELETE' end
                    )
                    and (
                        select x.exposed from exposed_schemas as x
                        where x.name = n.nspname
                    )
            else false
        end as anon_reachable,
        case
            when (select a.has_authenticated from api_roles as a)
                then
                    pg_catalog.has_schema_privilege('authenticated', n.oid, 'USAGE')
                    and pg_catalog.has_table_privilege(
                        'authenticated', c.oid,
                        case when c.relkind in ('m', 'f') then 'SELECT' else 'SELECT, INSERT, UPDATE, DELETE' end
                    )
                    and (
                        select x.exposed from exposed_schemas as x
                        where x.name = n.nspname
                    )
            else false
        end as authenticated_reachable,
        -- readable by an API role whatever PostgREST serves: a SECURITY DEFINER wrapper may serve it instead
        exists(
            select from pg_catalog.pg_roles as ar
            where
                ar.rolname in ('anon', 'authenticated')
                and pg_catalog.has_schema_privilege(ar.oid, n.oid, 'USAGE')
                and pg_catalog.has_table_privilege(ar.oid, c.oid, 'SELECT')
        ) as api_selectable,
        -- the API roles that may read any column: pg_graphql's introspection shows them the relation, its
        -- columns and relationships (partitioned roots excepted, as pg_graphql leaves them out)
        array(
            select ar.rolname::text from pg_catalog.pg_roles as ar
            where
                ar.rolname in ('anon', 'authenticated') and c.relkind <> 'p'
                and exists (
                    select from pg_catalog.pg_attribute as a
                    where
                        a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
                        and pg_catalog.has_column_privilege(ar.oid, c.oid, a.attnum, 'SELECT')
                )
            order by ar.rolname
        ) as graphql_visible_to
    from pg_catalog.pg_class as c
    inner join pg_catalog.pg_namespace as n on c.relnamespace = n.oid
    where
        c.relkind in ('r', 'p', 'v', 'm', 'f')
        and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname !~ '^pg_(toast|temp)'
),

view_reads as (
    select
        rw.ev_class as view_oid,
        array_agg(distinct pg_catalog.format('%I.%I', tn.nspname, t.relname)) filter (
            where t.relrowsecurity or not (
                (select a.has_authenticated from api_roles as a)
                and pg_catalog.has_schema_privilege('authenticated', tn.oid, 'USAGE')
                and pg_catalog.has_table_privilege('authenticated', t.oid, 'SELECT')
            )
        ) as guarded_tables,
        bool_or(tn.nspname = 'auth' and t.relname = 'users') as reads_auth_users
    from pg_catalog.pg_rewrite as rw
    inner join pg_catalog.pg_depend as d
        on d.classid = 'pg_catalog.pg_rewrite'::regclass and rw.oid = d.objid
    inner join pg_catalog.pg_class as t on d.refobjid = t.oid and t.relkind in ('r', 'p')
    inner join pg_catalog.pg_namespace as tn on t.relnamespace = tn.oid
    where t.oid <> rw.ev_class
    group by rw.ev_class
)

select
    r.key,
    r.schema,
    r.name,
    r.kind,
    r.rls_enabled,
    r.rls_forced,
    r.options,
    r.owner_bypasses_rls,
    r.policies,
    r.has_primary_key,
    r.anon_reachable,
    r.authenticated_reachable,
    r.api_selectable,
    r.graphql_visible_to,
    (
        select x.exposed from exposed_schemas as x
        where x.name = 'pgmq_public'
    ) as queue_api_exposed,
    coalesce(v.guarded_tables, '{}') as reads_guarded_tables,
    coalesce(v.reads_auth_users, false) as reads_auth_users,
    coalesce((
        select u.authenticated_reachable and not u.rls_enabled from relations as u
        where u.key = 'auth.users'
    ), false) as auth_users_open
from relations as r
left join view_reads as v on r.oid = v.view_oid
order by r.key;
