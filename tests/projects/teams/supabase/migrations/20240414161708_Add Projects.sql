create table public.projects (
  id bigint generated always as identity primary key,
  account_id uuid not null references teams.accounts on delete cascade,
  title text not null
);

create index projects_account_id_idx on public.projects (account_id);

alter table public.projects enable row level security;

create policy "Members work on their accounts' projects" on public.projects
  for all to authenticated
  using (exists (
    select 1 from teams.members m
    where m.account_id = projects.account_id and m.user_id = (select auth.uid())
  ))
  with check (exists (
    select 1 from teams.members m
    where m.account_id = projects.account_id and m.user_id = (select auth.uid())
  ));
