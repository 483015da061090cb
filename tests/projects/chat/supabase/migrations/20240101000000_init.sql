create table public.profiles (
  id uuid not null references auth.users on delete cascade primary key,
  username text unique,
  updated_at timestamptz
);

alter table public.profiles enable row level security;

create policy "Profiles are viewable by signed-in users." on public.profiles
  for select to authenticated using (true);

create policy "Users can update their own profile." on public.profiles
  for update to authenticated using ((select auth.uid()) = id);

create function public.handle_new_user()
returns trigger
language plpgsql
security definer set search_path = ''
as $$
begin
  insert into public.profiles (id, username) values (new.id, new.email);
  return new;
end;
$$;

create trigger on_auth_user_created
  after insert on auth.users
  for each row execute procedure public.handle_new_user();
