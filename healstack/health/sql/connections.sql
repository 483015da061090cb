-- Client connections against what the server allows them (max_connections less the slots reserved for
-- superusers and, from Postgres 16, for roles with pg_use_reserved_connections).
with counted as (
    select
        (
            select count(*) from pg_catalog.pg_stat_activity
            where backend_type = 'client backend'
        ) as used,
        pg_catalog.current_setting('max_connections')::int
        - pg_catalog.current_setting('superuser_reserved_connections')::int
        - coalesce(pg_catalog.current_setting('reserved_connections', true)::int, 0) as allowed
)

select
    'connections' as object,
    pg_catalog.jsonb_build_object(
        'used', used,
        'allowed', allowed,
        'percent', round(100.0 * used / allowed, 1)
    ) as detail
from counted
where 100.0 * used / allowed > pg_catalog.current_setting('healstack.connections_max_percent')::numeric;
