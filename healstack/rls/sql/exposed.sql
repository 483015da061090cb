-- Views and SECURITY DEFINER functions in public that the API roles can reach: the objects through
-- which a tenant could read rows RLS would hide from it.
select
    'relation' as kind,
    n.nspname as schema,
    c.relname as name,
    null::text as arguments
from pg_catalog.pg_class as c
inner join pg_catalog.pg_namespace as n on c.relnamespace = n.oid
where
    n.nspname = 'public' and c.relkind in ('v', 'm')
    and (
        pg_catalog.has_table_privilege('anon', c.oid, 'SELECT')
        or pg_catalog.has_table_privilege('authenticated', c.oid, 'SELECT')
    )
union all
select
    'function' as kind,
    n.nspname as schema,
    p.proname as name,
    pg_catalog.pg_get_function_identity_arguments(p.oid) as arguments
from pg_catalog.pg_proc as p
inner join pg_catalog.pg_namespace as n on p.pronamespace = n.oid
where
    n.nspname = 'public' and p.prosecdef and p.prokind = 'f'
    -- a trigger function runs only as a trigger: nobody can call it through the API
    and p.prorettype not in ('pg_catalog.trigger'::regtype, 'pg_catalog.event_trigger'::regtype)
    and (
        pg_catalog.has_function_privilege('anon', p.oid, 'EXECUTE')
        or pg_catalog.has_function_privilege('authenticated', p.oid, 'EXECUTE')
    )
order by 1, 2, 3;
