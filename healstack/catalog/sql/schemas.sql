-- User schemas (system and temp schemas left out).
select
    quote_ident(n.nspname) as key,
    n.nspname as schema,
    pg_catalog.pg_get_userbyid(n.nspowner) as owner
from pg_catalog.pg_namespace as n
where n.nspname not in ('pg_catalog', 'information_schema') and n.nspname !~ '^pg_(toast|temp)'
order by 1;
