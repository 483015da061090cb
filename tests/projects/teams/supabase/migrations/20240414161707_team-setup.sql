create schema teams;
grant usage on schema teams to authenticated, service_role;

create table teams.accounts (
  id uuid primary key default gen_random_uuid(),
  name text not null,
  owner_id uuid not null references auth.users default auth.uid(),
  created_at timestamptz not null default now()
);

create table teams.members (
  account_id uuid not null references teams.accounts on delete cascade,
  user_id uuid not null references auth.users on delete cascade,
  role text not null default 'member' check (role in ('owner', 'member')),
  primary key (account_id, user_id)
);

grant select on teams.accounts, teams.members to authenticated;
grant all on teams.accounts, teams.members to service_role;

alter table teams.accounts enable row level security;
alter table teams.members enable row level security;

create policy "Members see their accounts" on teams.accounts
  for select to authenticated
  using (id in (select m.account_id from teams.members m where m.user_id = (select auth.uid())));

create policy "Users see their own memberships" on teams.members
  for select to authenticated using (user_id = (select auth.uid()));
