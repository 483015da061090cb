-- healstack stand-in for pg_cron: jobs are recorded in cron.job as pg_cron records them, and never run.
\echo Use "CREATE EXTENSION pg_cron" to load this file. \quit

create schema cron;

create table cron.job (
    jobid bigserial primary key,
    schedule text not null,
    command text not null,
    nodename text not null default 'localhost',
    nodeport integer not null default 5432,
    database text not null default pg_catalog.current_database(),
    username text not null default current_user,
    active boolean not null default true,
    jobname text unique
);

create table cron.job_run_details (
    jobid bigint,
    runid bigserial primary key,
    job_pid integer,
    database text,
    username text,
    command text,
    status text,
    return_message text,
    start_time timestamptz,
    end_time timestamptz
);

create function cron.schedule(schedule text, command text) returns bigint language sql volatile
as $$ insert into cron.job (schedule, command) values (schedule, command) returning jobid $$;

create function cron.schedule(job_name text, schedule text, command text) returns bigint language sql volatile
as $$
    insert into cron.job (jobname, schedule, command) values (job_name, schedule, command)
    on conflict (jobname) do update set schedule = excluded.schedule, command = excluded.command
    returning jobid
$$;

create function cron.unschedule(job_id bigint) returns boolean language sql volatile
as $$ with gone as (delete from cron.job where jobid = job_id returning 1) select exists (select from gone) $$;

create function cron.unschedule(job_name text) returns boolean language sql volatile
as $$ with gone as (delete from cron.job where jobname = job_name returning 1) select exists (select from gone) $$;
