-- Sessions idle inside an open transaction for longer than the limit: they hold their locks and keep
-- vacuum from removing any row that died after they began. Literals in their last statement are masked.
select
    'pid ' || a.pid as object,
    pg_catalog.jsonb_build_object(
        'seconds', round(extract(epoch from pg_catalog.now() - a.state_change)::numeric, 1),
        'user', a.usename,
        'application', a.application_name,
        'state', a.state,
        'query', left(regexp_replace(a.query, '''(?:[^'']|'''')*''', '''…''', 'g'), 300)
    ) as detail
from pg_catalog.pg_stat_activity as a
where
    a.datname = pg_catalog.current_database()
    and a.state in ('idle in transaction', 'idle in transaction (aborted)')
    and a.pid <> pg_catalog.pg_backend_pid()
    and pg_catalog.now() - a.state_change
    > pg_catalog.make_interval(secs => pg_catalog.current_setting('healstack.idle_in_transaction_seconds')::float8)
order by a.state_change, object;
