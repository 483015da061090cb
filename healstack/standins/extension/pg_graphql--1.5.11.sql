-- healstack stand-in for pg_graphql: the entry point exists so grants and wrappers apply; it resolves nothing.
\echo Use "CREATE EXTENSION pg_graphql" to load this file. \quit

create schema graphql;

create function graphql.resolve(
    query text, variables jsonb default '{}', "operationName" text default null, extensions jsonb default null
) returns jsonb language sql stable
as $$ select '{"errors": [{"message": "healstack stand-in for pg_graphql: GraphQL is not resolved in a rehearsal"}]}'::jsonb $$;

create function graphql.comment_directive(comment_ text) returns jsonb language sql immutable
as $$ select null::jsonb $$;
