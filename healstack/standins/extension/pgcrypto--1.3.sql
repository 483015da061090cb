-- healstack stand-in for pgcrypto: the functions Supabase migrations and seeds call, in SQL on core Postgres.
\echo Use "CREATE EXTENSION pgcrypto" to load this file. \quit

create function gen_random_uuid() returns uuid language sql volatile parallel safe
as $$ select pg_catalog.gen_random_uuid() $$;

create function digest(bytea, text) returns bytea language plpgsql immutable strict parallel safe
as $$
declare
    hashed bytea := case pg_catalog.lower($2)
        when 'md5' then pg_catalog.decode(pg_catalog.md5($1), 'hex')
        when 'sha224' then pg_catalog.sha224($1)
        when 'sha256' then pg_catalog.sha256($1)
        when 'sha384' then pg_catalog.sha384($1)
        when 'sha512' then pg_catalog.sha512($1)
    end;
begin
    if hashed is null then
        raise exception 'healstack stand-in for pgcrypto: cannot use "%" (md5 and sha224-512 only)', $2
            using errcode = '22023';
    end if;
    return hashed;
end
$$;

create function digest(text, text) returns bytea language sql immutable strict parallel safe
as $$ select @extschema@.digest(pg_catalog.convert_to($1, 'UTF8'), $2) $$;

-- RFC 2104: H((K xor opad) || H((K xor ipad) || message)), the key hashed first when longer than a block
create function hmac(bytea, bytea, text) returns bytea language plpgsql immutable strict parallel safe
as $$
declare
    block integer := case when pg_catalog.lower($3) in ('sha384', 'sha512') then 128 else 64 end;
    k bytea := $2;
    inner_key bytea;
    outer_key bytea;
begin
    if pg_catalog.length(k) > block then
        k := @extschema@.digest(k, $3);
    end if;
    k := k || pg_catalog.decode(pg_catalog.repeat('00', block - pg_catalog.length(k)), 'hex');
    inner_key := k;
    outer_key := k;
    for i in 0 .. block - 1 loop
        inner_key := pg_catalog.set_byte(inner_key, i, pg_catalog.get_byte(k, i) # 54);
        outer_key := pg_catalog.set_byte(outer_key, i, pg_catalog.get_byte(k, i) # 92);
    end loop;
    return @extschema@.digest(outer_key || @extschema@.digest(inner_key || $1, $3), $3);
end
$$;

create function hmac(text, text, text) returns bytea language sql immutable strict parallel safe
as $$ select @extschema@.hmac(pg_catalog.convert_to($1, 'UTF8'), pg_catalog.convert_to($2, 'UTF8'), $3) $$;

-- strong randomness from the server's gen_random_uuid (pg_strong_random), stretched through SHA-256
create function gen_random_bytes(integer) returns bytea language sql volatile strict parallel safe
as $$
    select pg_catalog.substring(pg_catalog.string_agg(
        pg_catalog.sha256(pg_catalog.uuid_send(pg_catalog.gen_random_uuid())
            || pg_catalog.uuid_send(pg_catalog.gen_random_uuid())), ''::bytea), 1, $1)
    from pg_catalog.generate_series(1, ($1 + 31) / 32)
$$;

-- crypt/gen_salt keep their contract (crypt(password, stored) = stored checks a password) with salted
-- SHA-256 instead of bcrypt: hashes made here are not valid on Supabase, nor Supabase's here
create function gen_salt(text) returns text language sql volatile strict parallel safe
as $body$ select '$hs$' || pg_catalog.encode(@extschema@.gen_random_bytes(12), 'hex') || '$' $body$;

create function gen_salt(text, integer) returns text language sql volatile strict parallel safe
as $body$ select @extschema@.gen_salt($1) $body$;

create function crypt(text, text) returns text language sql immutable strict parallel safe
as $body$
    select s || pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to(s || $1, 'UTF8')), 'hex')
    from (select coalesce(pg_catalog.substring($2, '^\$hs\$[0-9a-f]*\$'), '$hs$$') as s) as salt
$body$;
