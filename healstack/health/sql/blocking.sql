-- Sessions waiting on a lock for longer than the limit, each with the sessions that block it: one long
-- holder at the head of a chain stalls every writer queued behind it. Literals in statements are masked.
select
    'pid ' || a.pid as object,
    pg_catalog.jsonb_build_object(
        'seconds', round(extract(epoch from pg_catalog.now() - a.query_start)::numeric, 1),
        'query', left(regexp_replace(a.query, '''(?:[^'']|'''')*''', '''…''', 'g'), 300),
        'blocked_by', (
            select
                pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                    'pid', b.pid,
                    'state', b.state,
                    'query', left(regexp_replace(b.query, '''(?:[^'']|'''')*''', '''…''', 'g'), 300)
                ) order by b.pid)
            from pg_catalog.pg_stat_activity as b
            where b.pid = any(pg_catalog.pg_blocking_pids(a.pid))
        )
    ) as detail
from pg_catalog.pg_stat_activity as a
where
    a.datname = pg_catalog.current_database()
    and a.wait_event_type = 'Lock'
    and cardinality(pg_catalog.pg_blocking_pids(a.pid)) > 0
    and pg_catalog.now() - a.query_start
    > pg_catalog.make_interval(secs => pg_catalog.current_setting('healstack.blocked_seconds')::float8)
order by a.query_start, object;
