-- The tables of the API schema: each must have an entry in the RLS contract.
select c.relname as name
from pg_catalog.pg_class as c
where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p')
order by 1;
