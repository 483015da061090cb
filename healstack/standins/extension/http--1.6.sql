-- healstack stand-in for pgsql-http: its types and functions, answering without a network.
\echo Use "CREATE EXTENSION http" to load this file. \quit

create type @extschema@.http_header as (field varchar, value varchar);
create type @extschema@.http_response as (
    status integer, content_type varchar, headers @extschema@.http_header[], content varchar
);
create type @extschema@.http_request as (
    method varchar, uri varchar, headers @extschema@.http_header[], content_type varchar, content varchar
);

create function @extschema@.http(request @extschema@.http_request) returns @extschema@.http_response
language sql volatile
as $$ select row(503, 'text/plain', '{}'::@extschema@.http_header[], 'healstack stand-in for http: no request sent')::@extschema@.http_response $$;

create function @extschema@.http_get(uri varchar) returns @extschema@.http_response language sql volatile
as $$ select @extschema@.http(row('GET', uri, null, null, null)::@extschema@.http_request) $$;

create function @extschema@.http_get(uri varchar, data jsonb) returns @extschema@.http_response language sql volatile
as $$ select @extschema@.http(row('GET', uri, null, null, null)::@extschema@.http_request) $$;

create function @extschema@.http_post(uri varchar, content varchar, content_type varchar)
returns @extschema@.http_response language sql volatile
as $$ select @extschema@.http(row('POST', uri, null, content_type, content)::@extschema@.http_request) $$;

create function @extschema@.http_post(uri varchar, data jsonb) returns @extschema@.http_response language sql volatile
as $$ select @extschema@.http(row('POST', uri, null, 'application/json', data::text)::@extschema@.http_request) $$;

create function @extschema@.http_delete(uri varchar) returns @extschema@.http_response language sql volatile
as $$ select @extschema@.http(row('DELETE', uri, null, null, null)::@extschema@.http_request) $$;
