-- Every row-level security policy, as `healstack rls scaffold` reads them: its table, whether it is
-- permissive, the command it covers, the roles it applies to, and its two expressions as Postgres prints them.
select
    n.nspname || '.' || c.relname as table_name,
    p.polname::text as name,
    p.polpermissive as permissive,
    case p.polcmd
        when 'r' then 'select' when 'a' then 'insert' when 'w' then 'update' when 'd' then 'delete' else 'all'
    end as command,
    array(
        select case when r.oid = 0 then 'public' else pg_catalog.pg_get_userbyid(r.oid)::text end
        from unnest(p.polroles) as r (oid)
    ) as roles,
    pg_catalog.pg_get_expr(p.polqual, p.polrelid) as using_expression,
    pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid) as check_expression
from pg_catalog.pg_policy as p
inner join pg_catalog.pg_class as c on p.polrelid = c.oid
inner join pg_catalog.pg_namespace as n on c.relnamespace = n.oid
order by table_name, name;
