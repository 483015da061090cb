-- What the lints need beyond the catalog snapshot: foreign keys into auth through a unique key other
-- than the primary key (Supabase Auth may change those), and extensions older than the version this
-- server would install.
select
    'fkey_to_auth_unique' as kind,
    n.nspname as schema,
    pg_catalog.format('%I.%I.%I', n.nspname, c.relname, con.conname) as key,
    pg_catalog.format('%I.%I', rn.nspname, rc.relname) || ' through ' || ic.relname as detail
from pg_catalog.pg_constraint as con
inner join pg_catalog.pg_class as c on con.conrelid = c.oid
inner join pg_catalog.pg_namespace as n on c.relnamespace = n.oid
inner join pg_catalog.pg_class as rc on con.confrelid = rc.oid
inner join pg_catalog.pg_namespace as rn on rc.relnamespace = rn.oid
inner join pg_catalog.pg_index as i on con.conindid = i.indexrelid
inner join pg_catalog.pg_class as ic on i.indexrelid = ic.oid
where con.contype = 'f' and rn.nspname = 'auth' and not i.indisprimary
union all
select
    'extension_outdated' as kind,
    null as schema,
    pg_catalog.quote_ident(e.extname) as key,
    e.extversion || ' installed, ' || a.default_version || ' available' as detail
from pg_catalog.pg_extension as e
inner join pg_catalog.pg_available_extensions as a on e.extname = a.name
where
    a.default_version is not null and e.extversion <> a.default_version
    -- a version the server does not list (set by hand, or a build of its own) has no update path to judge
    and exists (
        select from pg_catalog.pg_available_extension_versions as v
        where v.name = e.extname and v.version = e.extversion
    )
order by 1, 3;
