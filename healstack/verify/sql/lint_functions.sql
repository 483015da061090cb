-- Functions outside the platform schemas with what the lints judge: SECURITY DEFINER, a pinned
-- search_path, and whether the API roles may execute them (PUBLIC's default EXECUTE included).
select
    pg_catalog.format('%I.%I(%s)', n.nspname, p.proname, pg_catalog.pg_get_function_identity_arguments(p.oid))
        as key,
    n.nspname as schema,
    p.prosecdef as security_definer,
    l.lanname as language,
    p.prorettype in ('pg_catalog.trigger'::regtype, 'pg_catalog.event_trigger'::regtype) as trigger_function,
    exists(
        select from unnest(coalesce(p.proconfig, '{}')) as cfg
        where cfg like 'search_path=%')
        as pins_search_path,
    array(
        select r.rolname::text from pg_catalog.pg_roles as r
        where
            r.rolname in ('anon', 'authenticated')
            and pg_catalog.has_function_privilege(r.oid, p.oid, 'EXECUTE')
            -- only through a schema the role may use, and PostgREST serves (pgrst.db_schemas, where set)
            and pg_catalog.has_schema_privilege(r.oid, n.oid, 'USAGE')
            and coalesce(
                n.nspname = any(
                    pg_catalog.string_to_array(
                        pg_catalog.replace(pg_catalog.current_setting('pgrst.db_schemas', true), ' ', ''), ','
                    )
                ),
                true
            )
        order by r.rolname
    ) as api_executable
from pg_catalog.pg_proc as p
inner join pg_catalog.pg_namespace as n on p.pronamespace = n.oid
inner join pg_catalog.pg_language as l on p.prolang = l.oid
where
    p.prokind in ('f', 'p')
    and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname !~ '^pg_(toast|temp)'
    and not exists (
        select from pg_catalog.pg_depend as d
        where d.classid = 'pg_catalog.pg_proc'::regclass and d.objid = p.oid and d.deptype = 'e'
    )
order by key;
