-- The days of metrics_daily this transaction rewrote: rows whose version it created (run after
-- recompute_metrics_daily, in a transaction that is then rolled back).
select distinct m.day
from public.metrics_daily as m
where m.xmin = pg_current_xact_id()::xid
order by m.day;
