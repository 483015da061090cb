-- How many days of use the activity statistics hold: since their last reset, or at least since the server
-- started (Postgres 15 and later keep them across a clean restart, so this is a lower bound).
select
    extract(
        epoch from pg_catalog.now() - coalesce(d.stats_reset, pg_catalog.pg_postmaster_start_time())
    ) / 86400 as days
from pg_catalog.pg_stat_database as d
where d.datname = pg_catalog.current_database();
