-- healstack stand-in for pgsodium: what migrations reference most (the schema, keys, random bytes).
\echo Use "CREATE EXTENSION pgsodium" to load this file. \quit

create schema pgsodium;

create table pgsodium.key (
    id uuid primary key default pg_catalog.gen_random_uuid(),
    name text unique,
    status text default 'valid',
    key_type text,
    key_id bigint,
    key_context bytea,
    created timestamptz not null default pg_catalog.now(),
    comment text
);

create function pgsodium.randombytes_buf(size integer) returns bytea language sql volatile strict
as $$
    select pg_catalog.substring(pg_catalog.string_agg(
        pg_catalog.sha256(pg_catalog.uuid_send(pg_catalog.gen_random_uuid())), ''::bytea), 1, size)
    from pg_catalog.generate_series(1, (size + 31) / 32)
$$;
