-- Transaction ID headroom: the database, and its ten oldest tables, whose oldest unfrozen transaction ID has
-- used more than the limit's share of the ~2.1 billion IDs after which Postgres stops accepting writes. A
-- table is as old as the older of itself and its TOAST table.
with used as (
    select
        'database ' || quote_ident(datname) as object,
        age(datfrozenxid) as xid_age,
        0 as place
    from pg_catalog.pg_database
    where datname = pg_catalog.current_database()
    union all
    (
        select
            pg_catalog.format('%I.%I', n.nspname, c.relname) as object,
            greatest(age(c.relfrozenxid), age(t.relfrozenxid)) as xid_age,
            1 as place
        from pg_catalog.pg_class as c
        inner join pg_catalog.pg_namespace as n on c.relnamespace = n.oid
        left join pg_catalog.pg_class as t on c.reltoastrelid = t.oid
        where c.relkind in ('r', 'm')
        order by greatest(age(c.relfrozenxid), age(t.relfrozenxid)) desc
        limit 10
    )
)

select
    object,
    pg_catalog.jsonb_build_object(
        'xid_age', xid_age,
        'percent', round(100.0 * xid_age / 2146483647, 2),
        'left', 2146483647 - xid_age
    ) as detail
from used
where 100.0 * xid_age / 2146483647 > pg_catalog.current_setting('healstack.xid_age_max_percent')::numeric
order by place asc, xid_age desc, object asc;
