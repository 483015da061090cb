-- healstack stand-in for uuid-ossp: the functions Supabase migrations call, in SQL.
\echo Use "CREATE EXTENSION ""uuid-ossp""" to load this file. \quit

create function uuid_nil() returns uuid language sql immutable parallel safe
as $$ select '00000000-0000-0000-0000-000000000000'::uuid $$;
create function uuid_ns_dns() returns uuid language sql immutable parallel safe
as $$ select '6ba7b810-9dad-11d1-80b4-00c04fd430c8'::uuid $$;
create function uuid_ns_url() returns uuid language sql immutable parallel safe
as $$ select '6ba7b811-9dad-11d1-80b4-00c04fd430c8'::uuid $$;
create function uuid_ns_oid() returns uuid language sql immutable parallel safe
as $$ select '6ba7b812-9dad-11d1-80b4-00c04fd430c8'::uuid $$;
create function uuid_ns_x500() returns uuid language sql immutable parallel safe
as $$ select '6ba7b814-9dad-11d1-80b4-00c04fd430c8'::uuid $$;

create function uuid_generate_v4() returns uuid language sql volatile parallel safe
as $$ select pg_catalog.gen_random_uuid() $$;
-- time-based uuids need the C extension; a random one keeps defaults and inserts working
create function uuid_generate_v1() returns uuid language sql volatile parallel safe
as $$ select pg_catalog.gen_random_uuid() $$;
create function uuid_generate_v1mc() returns uuid language sql volatile parallel safe
as $$ select pg_catalog.gen_random_uuid() $$;

-- RFC 4122 version 3: md5 of the namespace's bytes and the name, version and variant bits set
create function uuid_generate_v3(namespace uuid, name text) returns uuid language sql immutable strict parallel safe
as $$
    select pg_catalog.encode(
        pg_catalog.set_byte(
            pg_catalog.set_byte(h, 6, (pg_catalog.get_byte(h, 6) & 15) | 48),
            8, (pg_catalog.get_byte(h, 8) & 63) | 128),
        'hex')::uuid
    from (select pg_catalog.decode(pg_catalog.md5(pg_catalog.uuid_send(namespace)
        || pg_catalog.convert_to(name, 'UTF8')), 'hex') as h) as d
$$;

create function uuid_generate_v5(namespace uuid, name text) returns uuid language plpgsql immutable strict
as $$
begin
    raise exception 'healstack stand-in for uuid-ossp: uuid_generate_v5 needs SHA-1, which core Postgres lacks'
        using errcode = '0A000';
end
$$;
