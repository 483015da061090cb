-- Sequences (identity columns' too) near the largest value they, or the column they fill, can hold: at the
-- limit every insert fails. A bigint sequence filling an integer column runs out at the column's limit.
with filled as (
    select
        s.schemaname,
        s.sequencename,
        s.last_value,
        least(s.max_value, case a.atttypid
            when 'pg_catalog.int2'::pg_catalog.regtype then 32767
            when 'pg_catalog.int4'::pg_catalog.regtype then 2147483647
            else 9223372036854775807
        end) as limit_value,
        case
            when a.attname is not null then pg_catalog.format('%s.%I.%I', t.relnamespace::pg_catalog.regnamespace, t.relname, a.attname)
        end as filled_column
    from pg_catalog.pg_sequences as s
    inner join pg_catalog.pg_namespace as n on s.schemaname = n.nspname
    inner join pg_catalog.pg_class as c on n.oid = c.relnamespace and s.sequencename = c.relname
    left join pg_catalog.pg_depend as d
        on
            d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
            and c.oid = d.objid
            and d.refobjsubid > 0
            and d.deptype in ('a', 'i')
    left join pg_catalog.pg_class as t on d.refobjid = t.oid
    left join pg_catalog.pg_attribute as a on d.refobjid = a.attrelid and d.refobjsubid = a.attnum
    where s.last_value is not null and s.increment_by > 0
)

select
    pg_catalog.format('%I.%I', schemaname, sequencename) as object,
    pg_catalog.jsonb_build_object(
        'last_value', last_value,
        'limit', limit_value,
        'percent', round(100.0 * last_value / limit_value, 2),
        'column', filled_column
    ) as detail
from filled
where 100.0 * last_value / limit_value > pg_catalog.current_setting('healstack.sequence_max_percent')::numeric
order by 100.0 * last_value / limit_value desc, object asc;
