-- spend is keyed by what a row is: (project, platform, account_id, campaign_id, dt) becomes its primary key
-- and the surrogate identity `id` goes.
--
-- Nothing refers to spend.id: no foreign key, view or function reads it, and the ETL and upsert_spend
-- conflict on the natural key. Yet every loaded row paid for it: a sequence call and a second unique index.
-- Issue 5's benchmark (1,000,000 rows, reports/bench/etl.md) measured a plain COPY into spend at about
-- 10 s with it and about 7 s without.

alter table public.spend drop constraint if exists spend_pkey;

-- healstack: allow HS001 spend.id is a surrogate nothing references; the natural key identifies each row, and the rollback regenerates ids
alter table public.spend drop column if exists id;

-- the natural key's unique index is rebuilt as the primary key's, under the same name
do $$
begin
    if not exists (select from pg_catalog.pg_constraint
                   where conrelid = 'public.spend'::regclass and contype = 'p') then
        alter table public.spend drop constraint if exists spend_natural_key,
            add constraint spend_natural_key primary key (project, platform, account_id, campaign_id, dt);
    end if;
end
$$;
