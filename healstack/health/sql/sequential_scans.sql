-- Tables over a size whose scans are mostly sequential (PgHero's "missing indexes"): some query reads the
-- whole table each time it runs, and gets slower as the table grows.
select
    pg_catalog.format('%I.%I', s.schemaname, s.relname) as object,
    pg_catalog.jsonb_build_object(
        'rows', s.n_live_tup,
        'seq_scan', s.seq_scan,
        'idx_scan', coalesce(s.idx_scan, 0),
        'percent', round(100.0 * s.seq_scan / (s.seq_scan + coalesce(s.idx_scan, 0)), 1),
        'rows_per_scan', s.seq_tup_read / s.seq_scan
    ) as detail
from pg_catalog.pg_stat_user_tables as s
where
    s.seq_scan > 0
    and s.n_live_tup >= pg_catalog.current_setting('healstack.seq_scan_min_rows')::bigint
    and s.seq_scan >= pg_catalog.current_setting('healstack.seq_scan_min_scans')::bigint
    and 100.0 * s.seq_scan / (s.seq_scan + coalesce(s.idx_scan, 0))
    > pg_catalog.current_setting('healstack.seq_scan_max_percent')::numeric
order by s.seq_tup_read desc, object asc;
