create table public.documents (
  id uuid primary key default uuid_generate_v4(),
  owner uuid not null references auth.users default auth.uid(),
  title text not null,
  embedding vector(3),
  share_token text not null default encode(gen_random_bytes(16), 'hex'),
  created_at timestamptz not null default now()
);

alter table public.documents enable row level security;

create policy "Owners read their documents" on public.documents
  for select to authenticated using (owner = (select auth.uid()));
create policy "Owners add documents" on public.documents
  for insert to authenticated with check (owner = (select auth.uid()));
create policy "Owners edit their documents" on public.documents
  for update to authenticated using (owner = (select auth.uid()));
create policy "Owners delete their documents" on public.documents
  for delete to authenticated using (owner = (select auth.uid()));

create table public.categories (
  id serial primary key,
  name text not null unique
);

alter table public.categories enable row level security;

create policy "Anyone reads categories" on public.categories
  for select to anon, authenticated using (true);

create function public.notify_indexer() returns trigger
language plpgsql security definer set search_path = ''
as $$
begin
  perform net.http_post(url := 'https://indexer.example.com/documents', body := jsonb_build_object('id', new.id));
  return new;
end;
$$;

create trigger documents_indexed after insert on public.documents
  for each row execute function public.notify_indexer();
