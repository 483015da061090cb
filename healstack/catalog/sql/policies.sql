-- Row-level security policies: command, roles, permissive or restrictive, USING and WITH CHECK.
select
    pg_catalog.format('%I.%I.%I', n.nspname, c.relname, p.polname) as key,
    n.nspname as schema,
    c.relname as relation,
    p.polname as name,
    p.polcmd::text as command,
    p.polpermissive as permissive,
    array(
        select case when r.oid = 0 then 'public' else pg_catalog.pg_get_userbyid(r.oid) end
        from unnest(p.polroles) as r (oid)
        order by 1
    ) as roles,
    pg_catalog.pg_get_expr(p.polqual, p.polrelid) as using_expr,
    pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid) as with_check_expr
from pg_catalog.pg_policy as p
inner join pg_catalog.pg_class as c on p.polrelid = c.oid
inner join pg_catalog.pg_namespace as n on c.relnamespace = n.oid
order by 1;
