-- spend's primary key leads with the day and the tenant: (dt, project, campaign_id, account_id, platform),
-- and it replaces the (project, dt) index.
--
-- Why: a row costs its load mostly in B-tree comparisons (issue 5's benchmark, reports/bench/etl.md). Led by
-- project and platform, which hardly vary within a load, every comparison walked through two or three equal
-- text columns before reaching one that differs; the day and the campaign tell rows apart at once. The
-- (project, dt) index was a second tree of the same cost. A plain COPY of 1,000,000 rows, the layouts
-- interleaved in one run: 5.3-6.2 s before, 3.5-4.8 s after.
--
-- What reads spend is served as well as before: the metrics recompute reads a range of days (now a range
-- of the key), and a tenant reads its own project, usually over days: the key's (dt, project) prefix
-- answers that. A tenant's whole history without a day range uses Postgres 18's skip scan over the
-- days (measured 16 ms against 16 ms for 50,000 of 1,000,000 rows); older servers scan the table for it.
-- ON CONFLICT and upsert_spend name the key's columns as a set, so their order changes nothing for them.
do $$
begin
    if not exists (select from pg_catalog.pg_index as i
                   join pg_catalog.pg_attribute as a on a.attrelid = i.indrelid and a.attnum = i.indkey[0]
                   where i.indrelid = 'public.spend'::regclass and i.indisprimary and a.attname = 'dt') then
        alter table public.spend drop constraint spend_natural_key,
            add constraint spend_natural_key primary key (dt, project, campaign_id, account_id, platform);
    end if;
end
$$;

-- an index holds no data, and the key now leads with (dt, project)
drop index if exists public.spend_project_dt_idx;
