-- Constraints added NOT VALID and never validated: rows from before them may break them, and the planner
-- cannot rely on them. VALIDATE CONSTRAINT checks the rows without blocking writes.
select
    pg_catalog.format('%I.%I.%I', n.nspname, coalesce(t.relname, d.typname), c.conname) as object,
    pg_catalog.jsonb_build_object(
        'kind', case c.contype when 'c' then 'check' when 'f' then 'foreign key' else c.contype::text end,
        'definition', pg_catalog.pg_get_constraintdef(c.oid)
    ) as detail
from pg_catalog.pg_constraint as c
inner join pg_catalog.pg_namespace as n on c.connamespace = n.oid
left join pg_catalog.pg_class as t on c.conrelid = t.oid
left join pg_catalog.pg_type as d on c.contypid = d.oid
where
    not c.convalidated
    and n.nspname not in ('pg_catalog', 'information_schema')
order by object;
