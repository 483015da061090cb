-- Installed extensions.
select
    quote_ident(e.extname) as key,
    e.extname as name,
    n.nspname as schema,
    e.extversion as version
from pg_catalog.pg_extension as e
inner join pg_catalog.pg_namespace as n on e.extnamespace = n.oid
order by 1;
