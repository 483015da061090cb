-- What a Supabase database has and the stack relies on, created on vanilla Postgres.
-- Every object is guarded, so running it twice changes nothing. healstack runs it only when the
-- database is not a Supabase one (no role supabase_admin): on Supabase nothing here is touched.
-- The auth functions are defined as Supabase Auth defines them (they read request.jwt.claims, which
-- PostgREST sets per request), with an empty search_path pinned.

do $compat$
begin
    if not exists (select from pg_catalog.pg_roles where rolname = 'anon') then
        create role anon nologin noinherit;
    end if;
    if not exists (select from pg_catalog.pg_roles where rolname = 'authenticated') then
        create role authenticated nologin noinherit;
    end if;
    if not exists (select from pg_catalog.pg_roles where rolname = 'service_role') then
        create role service_role nologin noinherit bypassrls;
    end if;
    if not exists (select from pg_catalog.pg_roles where rolname = 'authenticator') then
        create role authenticator login noinherit;
    end if;
    if not pg_catalog.pg_has_role('authenticator', 'anon', 'member') then
        grant anon to authenticator;
    end if;
    if not pg_catalog.pg_has_role('authenticator', 'authenticated', 'member') then
        grant authenticated to authenticator;
    end if;
    if not pg_catalog.pg_has_role('authenticator', 'service_role', 'member') then
        grant service_role to authenticator;
    end if;
end
$compat$;

create schema if not exists extensions;
create schema if not exists auth;

grant usage on schema extensions to anon, authenticated, service_role;
grant usage on schema auth to anon, authenticated, service_role;

create table if not exists auth.users (
    id uuid primary key,
    email text unique,
    role text,
    is_anonymous boolean not null default false,
    raw_app_meta_data jsonb not null default '{}'::jsonb,
    raw_user_meta_data jsonb not null default '{}'::jsonb,
    created_at timestamptz not null default pg_catalog.now(),
    updated_at timestamptz not null default pg_catalog.now()
);

create or replace function auth.jwt() returns jsonb
language sql stable
set search_path = ''
as $$
    select coalesce(
        nullif(pg_catalog.current_setting('request.jwt.claim', true), ''),
        nullif(pg_catalog.current_setting('request.jwt.claims', true), '')
    )::jsonb
$$;

create or replace function auth.uid() returns uuid
language sql stable
set search_path = ''
as $$
    select coalesce(
        nullif(pg_catalog.current_setting('request.jwt.claim.sub', true), ''),
        (nullif(pg_catalog.current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
    )::uuid
$$;

create or replace function auth.role() returns text
language sql stable
set search_path = ''
as $$
    select coalesce(
        nullif(pg_catalog.current_setting('request.jwt.claim.role', true), ''),
        (nullif(pg_catalog.current_setting('request.jwt.claims', true), '')::jsonb ->> 'role')
    )::text
$$;

create or replace function auth.email() returns text
language sql stable
set search_path = ''
as $$
    select coalesce(
        nullif(pg_catalog.current_setting('request.jwt.claim.email', true), ''),
        (nullif(pg_catalog.current_setting('request.jwt.claims', true), '')::jsonb ->> 'email')
    )::text
$$;

grant execute on function auth.jwt(), auth.uid(), auth.role(), auth.email()
to anon, authenticated, service_role;

-- Supabase's default privileges on public: the API roles get everything, RLS decides rows.
grant usage on schema public to anon, authenticated, service_role;
alter default privileges in schema public grant all on tables to anon, authenticated, service_role;
alter default privileges in schema public grant all on sequences to anon, authenticated, service_role;
alter default privileges in schema public grant all on functions to anon, authenticated, service_role;

-- Every Supabase project has pg_stat_statements in extensions; where the server preloads it (the embedded
-- default does) and this role may create it, it is enabled the same way, so the health phase can read the
-- slowest statements. (pg_settings hides the preload list from roles that may not read it.)
do $stat$
begin
    if exists (
        select from pg_catalog.pg_settings
        where name = 'shared_preload_libraries' and setting ~ 'pg_stat_statements'
    )
    and exists (select from pg_catalog.pg_roles where rolname = current_user and rolsuper)
    and exists (select from pg_catalog.pg_available_extensions where name = 'pg_stat_statements') then
        create extension if not exists pg_stat_statements with schema extensions;
    end if;
end
$stat$;
