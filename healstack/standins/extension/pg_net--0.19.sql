-- healstack stand-in for pg_net: the same functions, recording each request in net.http_request_queue.
\echo Use "CREATE EXTENSION pg_net" to load this file. \quit

create schema net;

create table net.http_request_queue (
    id bigserial primary key,
    method text not null,
    url text not null,
    headers jsonb,
    body bytea,
    timeout_milliseconds integer not null
);

create table net._http_response (
    id bigint,
    status_code integer,
    content_type text,
    headers jsonb,
    content text,
    timed_out boolean,
    error_msg text,
    created timestamptz not null default pg_catalog.now()
);

-- every request goes through one insert; the public functions only name their method
create function net._enqueue(
    method text, url text, headers jsonb, body bytea, timeout_milliseconds integer
) returns bigint language sql volatile security definer set search_path = ''
as $$
    insert into net.http_request_queue (method, url, headers, body, timeout_milliseconds)
    values (method, url, headers, body, timeout_milliseconds) returning id
$$;

create function net.http_get(
    url text, params jsonb default '{}', headers jsonb default '{}', timeout_milliseconds integer default 5000
) returns bigint language sql volatile set search_path = ''
as $$ select net._enqueue('GET', url, headers, null, timeout_milliseconds) $$;

create function net.http_post(
    url text, body jsonb default '{}', params jsonb default '{}', headers jsonb default '{"Content-Type": "application/json"}',
    timeout_milliseconds integer default 5000
) returns bigint language sql volatile set search_path = ''
as $$ select net._enqueue('POST', url, headers, pg_catalog.convert_to(body::text, 'UTF8'), timeout_milliseconds) $$;

create function net.http_delete(
    url text, params jsonb default '{}', headers jsonb default '{}', timeout_milliseconds integer default 5000
) returns bigint language sql volatile set search_path = ''
as $$ select net._enqueue('DELETE', url, headers, null, timeout_milliseconds) $$;
