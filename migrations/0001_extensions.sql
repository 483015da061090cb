-- Extensions the stack uses, kept out of public (schema "extensions", as on Supabase).
-- pg_trgm backs the fuzzy search index on curated support replies.
-- pgcrypto is created where the server ships it (Supabase, Debian packages). The pip-installed
-- embedded server is built without OpenSSL and has no pgcrypto; nothing in the stack calls it
-- (gen_random_uuid() is core since Postgres 13), so its absence is reported, not fatal.
create schema if not exists extensions;
create extension if not exists pg_trgm with schema extensions;

do $pgcrypto$
begin
    if exists (select from pg_catalog.pg_available_extensions where name = 'pgcrypto') then
        create extension if not exists pgcrypto with schema extensions;
    else
        raise notice 'pgcrypto is not available on this server; skipped';
    end if;
end
$pgcrypto$;
