-- Primary key, unique, foreign key, check and exclusion constraints. Postgres 18 also stores
-- NOT NULL as constraints (contype 'n'); those are covered by columns.not_null and left out here.
select
    pg_catalog.format('%I.%I.%I', n.nspname, c.relname, con.conname) as key,
    n.nspname as schema,
    c.relname as relation,
    con.conname as name,
    con.contype::text as type,
    pg_catalog.pg_get_constraintdef(con.oid) as definition,
    con.convalidated as validated
from pg_catalog.pg_constraint as con
inner join pg_catalog.pg_class as c on con.conrelid = c.oid
inner join pg_catalog.pg_namespace as n on c.relnamespace = n.oid
where
    con.contype <> 'n'
    and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname !~ '^pg_(toast|temp)'
order by 1;
