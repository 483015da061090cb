-- Functions and procedures: signature, SECURITY DEFINER, volatility, settings (search_path), body.
select
    pg_catalog.format('%I.%I(%s)', n.nspname, p.proname, pg_catalog.pg_get_function_identity_arguments(p.oid))
        as key,
    n.nspname as schema,
    p.proname as name,
    pg_catalog.pg_get_function_identity_arguments(p.oid) as arguments,
    pg_catalog.pg_get_function_result(p.oid) as result,
    p.prokind::text as kind,
    p.prosecdef as security_definer,
    p.provolatile::text as volatility,
    l.lanname as language,
    coalesce(p.proconfig, '{}') as config,
    pg_catalog.pg_get_userbyid(p.proowner) as owner,
    case when p.prokind in ('f', 'p') then pg_catalog.pg_get_functiondef(p.oid) end as definition
from pg_catalog.pg_proc as p
inner join pg_catalog.pg_namespace as n on p.pronamespace = n.oid
inner join pg_catalog.pg_language as l on p.prolang = l.oid
where
    n.nspname not in ('pg_catalog', 'information_schema') and n.nspname !~ '^pg_(toast|temp)'
    and not exists (
        select from pg_catalog.pg_depend as d
        where d.classid = 'pg_catalog.pg_proc'::regclass and d.objid = p.oid and d.deptype = 'e'
    )
order by 1;
