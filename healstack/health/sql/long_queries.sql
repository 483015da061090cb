-- Other sessions' statements in this database running longer than the limit. String literals in the text are masked: a
-- statement may carry a password or a token.
select
    'pid ' || a.pid as object,
    pg_catalog.jsonb_build_object(
        'seconds', round(extract(epoch from pg_catalog.now() - a.query_start)::numeric, 1),
        'user', a.usename,
        'application', a.application_name,
        'query', left(regexp_replace(a.query, '''(?:[^'']|'''')*''', '''…''', 'g'), 300)
    ) as detail
from pg_catalog.pg_stat_activity as a
where
    a.datname = pg_catalog.current_database()
    and a.state = 'active'
    and a.backend_type = 'client backend'
    and a.pid <> pg_catalog.pg_backend_pid()
    and pg_catalog.now() - a.query_start
    > pg_catalog.make_interval(secs => pg_catalog.current_setting('healstack.long_query_seconds')::float8)
order by a.query_start, object;
