-- The tables of the API schema with their columns: each must have an entry in the RLS contract, and each
-- entry may name only columns its table has.
select
    c.relname as name,
    array(
        select a.attname::text from pg_catalog.pg_attribute as a
        where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
        order by a.attnum
    ) as columns
from pg_catalog.pg_class as c
where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p')
order by c.relname;
