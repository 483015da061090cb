-- User triggers (internal constraint triggers left out).
select
    pg_catalog.format('%I.%I.%I', n.nspname, c.relname, t.tgname) as key,
    n.nspname as schema,
    c.relname as relation,
    t.tgname as name,
    pg_catalog.pg_get_triggerdef(t.oid) as definition,
    t.tgenabled::text as enabled
from pg_catalog.pg_trigger as t
inner join pg_catalog.pg_class as c on t.tgrelid = c.oid
inner join pg_catalog.pg_namespace as n on c.relnamespace = n.oid
where not t.tgisinternal
order by 1;
