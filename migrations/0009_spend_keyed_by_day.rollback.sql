do $$
begin
    if exists (select from pg_catalog.pg_index as i
               join pg_catalog.pg_attribute as a on a.attrelid = i.indrelid and a.attnum = i.indkey[0]
               where i.indrelid = 'public.spend'::regclass and i.indisprimary and a.attname = 'dt') then
        alter table public.spend drop constraint spend_natural_key,
            add constraint spend_natural_key primary key (project, platform, account_id, campaign_id, dt);
    end if;
end
$$;
create index if not exists spend_project_dt_idx on public.spend (project, dt);
