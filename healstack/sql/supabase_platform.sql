-- What a Supabase project has before its first migration, beyond the roles and auth functions of
-- supabase_compat.sql: auth.users with the columns Supabase Auth keeps (triggers on new users read them),
-- storage's buckets, objects and helpers, realtime's messages and topic(), the supabase_realtime
-- publication, extensions on the search_path, and the extensions every project starts with. Every
-- statement is guarded, so running it twice changes nothing; healstack runs it on vanilla Postgres only.
-- Where this server lacks an extension, the embedded default offers a labelled stand-in
-- (healstack/standins), which the report lists.

alter table auth.users
add column if not exists instance_id uuid,
add column if not exists aud varchar(255),
add column if not exists encrypted_password varchar(255),
add column if not exists email_confirmed_at timestamptz,
add column if not exists invited_at timestamptz,
add column if not exists confirmation_token varchar(255),
add column if not exists recovery_token varchar(255),
add column if not exists last_sign_in_at timestamptz,
add column if not exists phone text,
add column if not exists phone_confirmed_at timestamptz,
add column if not exists confirmed_at timestamptz,
add column if not exists banned_until timestamptz,
add column if not exists is_super_admin boolean,
add column if not exists is_sso_user boolean not null default false,
add column if not exists deleted_at timestamptz;

create schema if not exists storage;
grant usage on schema storage to anon, authenticated, service_role;

create table if not exists storage.buckets (
    id text primary key,
    name text not null unique,
    owner uuid,
    owner_id text,
    public boolean not null default false,
    avif_autodetection boolean not null default false,
    file_size_limit bigint,
    allowed_mime_types text[],
    created_at timestamptz not null default pg_catalog.now(),
    updated_at timestamptz not null default pg_catalog.now()
);

create table if not exists storage.objects (
    id uuid primary key default pg_catalog.gen_random_uuid(),
    bucket_id text references storage.buckets (id),
    name text,
    owner uuid,
    owner_id text,
    metadata jsonb,
    user_metadata jsonb,
    path_tokens text[] generated always as (pg_catalog.string_to_array(name, '/')) stored,
    version text,
    created_at timestamptz not null default pg_catalog.now(),
    updated_at timestamptz not null default pg_catalog.now(),
    last_accessed_at timestamptz not null default pg_catalog.now(),
    unique (bucket_id, name)
);

alter table storage.buckets enable row level security;
alter table storage.objects enable row level security;
grant all on storage.buckets, storage.objects to anon, authenticated, service_role;

-- The helpers storage policies call: 'a/b/c.png' -> {a,b}, 'c.png', 'png'
create or replace function storage.foldername(name text) returns text[]
language sql immutable
set search_path = ''
as $$
    select (pg_catalog.string_to_array(name, '/'))[1:pg_catalog.array_length(pg_catalog.string_to_array(name, '/'), 1) - 1]
$$;

create or replace function storage.filename(name text) returns text
language sql immutable
set search_path = ''
as $$
    select (pg_catalog.string_to_array(name, '/'))[pg_catalog.array_length(pg_catalog.string_to_array(name, '/'), 1)]
$$;

create or replace function storage.extension(name text) returns text
language sql immutable
set search_path = ''
as $$
    select pg_catalog.reverse(pg_catalog.split_part(pg_catalog.reverse(storage.filename(name)), '.', 1))
$$;

grant execute on function storage.foldername(text), storage.filename(text), storage.extension(text)
to anon, authenticated, service_role;

create schema if not exists realtime;
grant usage on schema realtime to anon, authenticated, service_role;

create table if not exists realtime.messages (
    id uuid primary key default pg_catalog.gen_random_uuid(),
    topic text not null,
    extension text not null,
    payload jsonb,
    event text,
    private boolean default false,
    inserted_at timestamptz not null default pg_catalog.now(),
    updated_at timestamptz not null default pg_catalog.now()
);

alter table realtime.messages enable row level security;
grant select, insert, update, delete on realtime.messages to anon, authenticated, service_role;

-- the channel a Realtime authorization policy is judging, as Realtime sets it per request
create or replace function realtime.topic() returns text
language sql stable
set search_path = ''
as $$
    select nullif(pg_catalog.current_setting('realtime.topic', true), '')
$$;

grant execute on function realtime.topic() to anon, authenticated, service_role;

do $platform$
declare
    ext text;
begin
    if not exists (select from pg_catalog.pg_publication where pubname = 'supabase_realtime') then
        create publication supabase_realtime;
    end if;
    -- every Supabase project starts with these; each is created where this server has it (or a stand-in)
    foreach ext in array array['uuid-ossp', 'pgcrypto', 'pg_graphql', 'supabase_vault'] loop
        if exists (select from pg_catalog.pg_available_extensions where name = ext)
        and not exists (select from pg_catalog.pg_extension where extname = ext) then
            execute pg_catalog.format('create extension if not exists %I with schema extensions', ext);
        end if;
    end loop;
    execute pg_catalog.format(
        'alter database %I set search_path = "$user", public, extensions', pg_catalog.current_database()
    );
end
$platform$;
