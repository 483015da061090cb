-- Indexes no scan has used since the statistics began, largest first: each slows every write and fills disk
-- and buys nothing. Indexes behind a constraint (primary key, unique, exclusion) enforce it and are kept.
select
    pg_catalog.format('%I.%I', s.schemaname, s.indexrelname) as object,
    pg_catalog.jsonb_build_object(
        'table', pg_catalog.format('%I.%I', s.schemaname, s.relname),
        'bytes', pg_catalog.pg_relation_size(s.indexrelid),
        'size', pg_catalog.pg_size_pretty(pg_catalog.pg_relation_size(s.indexrelid))
    ) as detail
from pg_catalog.pg_stat_user_indexes as s
inner join pg_catalog.pg_index as i on s.indexrelid = i.indexrelid
where
    s.idx_scan = 0
    and i.indisvalid
    and not i.indisunique
    and not exists (
        select from pg_catalog.pg_constraint as k
        where k.conindid = i.indexrelid
    )
    and pg_catalog.pg_relation_size(s.indexrelid)
    >= pg_catalog.current_setting('healstack.unused_index_min_bytes')::bigint
order by pg_catalog.pg_relation_size(s.indexrelid) desc, object asc;
