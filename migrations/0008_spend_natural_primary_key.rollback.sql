do $$
begin
    if exists (select from pg_catalog.pg_constraint
               where conrelid = 'public.spend'::regclass and conname = 'spend_natural_key' and contype = 'p') then
        alter table public.spend drop constraint spend_natural_key,
            add constraint spend_natural_key unique (project, platform, account_id, campaign_id, dt);
    end if;
end
$$;

-- healstack: allow HS004 a rollback restores the surrogate key; its values are new, nothing referred to the old ones
alter table public.spend add column if not exists id bigint generated always as identity primary key;
