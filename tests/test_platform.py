"""What a Supabase project has before its first migration, on the embedded default: storage, realtime, the
supabase_realtime publication, auth.users as Supabase Auth keeps it, extensions on the search_path, and the
platform's extensions (pgcrypto, uuid-ossp, pg_net, pg_cron, Vault, pg_graphql, pgsodium, http) as labelled
stand-ins where the server lacks them; the apply phase lists every stand-in."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from healstack.compat import ensure_supabase_compat
from healstack.config import Settings
from healstack.context import Context
from healstack.db import connect
from healstack.migrate.phase import apply_phase
from healstack.migrate.runner import apply_migrations
from healstack.report.html import render
from healstack.report.stream import RunData
from healstack.results import Outcome

# A project as people write them for Supabase: no IF NOT EXISTS, a trigger on auth.users reading the user's
# metadata, uuid-ossp's default called unqualified, a storage bucket with a per-user folder policy, a
# webhook through pg_net, a nightly job, a secret in Vault, realtime on a table, and embeddings.
PROJECT = {
    "20240101000000_profiles.sql": """
create extension if not exists "uuid-ossp" with schema extensions;
create extension if not exists pgcrypto with schema extensions;
create table public.profiles (
    id uuid primary key references auth.users (id) on delete cascade,
    full_name text,
    api_key text not null default encode(gen_random_bytes(16), 'hex'),
    created_at timestamptz not null default now()
);
alter table public.profiles enable row level security;
create policy "own profile" on public.profiles for select to authenticated using ((select auth.uid()) = id);
create function public.handle_new_user() returns trigger language plpgsql security definer set search_path = ''
as $$
begin
    insert into public.profiles (id, full_name) values (new.id, new.raw_user_meta_data ->> 'full_name');
    return new;
end
$$;
create trigger on_auth_user_created after insert on auth.users
for each row execute procedure public.handle_new_user();
""",
    "20240102000000_files-and-hooks.sql": """
insert into storage.buckets (id, name, public) values ('avatars', 'avatars', false);
create policy "own folder" on storage.objects for insert to authenticated
with check (bucket_id = 'avatars' and (storage.foldername(name))[1] = (select auth.uid())::text);
create extension if not exists pg_net with schema extensions;
create extension if not exists pg_cron with schema pg_catalog;
create table public.messages (id uuid primary key default uuid_generate_v4(), body text not null);
alter table public.messages enable row level security;
alter publication supabase_realtime add table public.messages;
select cron.schedule('nightly-cleanup', '0 3 * * *', $$delete from public.messages where body = ''$$);
select vault.create_secret('https://hooks.example.invalid/x', 'webhook_url');
create function public.notify_hook() returns trigger language plpgsql security definer set search_path = ''
as $$
begin
    perform net.http_post('https://hooks.example.invalid/x', jsonb_build_object('id', new.id));
    return new;
end
$$;
create trigger messages_hook after insert on public.messages for each row execute function public.notify_hook();
create extension if not exists vector with schema extensions;
create table public.documents (id bigint primary key, embedding extensions.vector(3));
""",
}


@pytest.fixture
def project(tmp_path: Path, test_settings: Settings) -> Settings:
    folder = tmp_path / "supabase" / "migrations"
    folder.mkdir(parents=True)
    for name, text in PROJECT.items():
        (folder / name).write_text(text)
    return dataclasses.replace(test_settings, migrations_dir=folder, healthcheck=None)


def _major(dsn: str) -> int:
    with connect(dsn) as c:
        return c.info.server_version // 10000


def test_a_supabase_project_applies_on_the_embedded_default(empty_db: str, project: Settings) -> None:
    if _major(empty_db) < 18:
        pytest.skip("the stand-ins need Postgres 18's extension_control_path (the embedded default)")
    ctx = Context(empty_db, project)
    outcome = apply_migrations(ctx)
    assert outcome.failure is None and len(outcome.applied) == 2
    with connect(empty_db, autocommit=True) as c:
        c.execute("insert into auth.users (id, email, raw_user_meta_data) values"
                  " ('00000000-0000-0000-0000-0000000000a1', 'a@example.invalid', '{\"full_name\": \"Ada\"}')")
        assert c.execute("select full_name, length(api_key) from public.profiles").fetchone() == ("Ada", 32)
        c.execute("insert into public.messages (body) values ('hi')")
        assert c.execute("select method, url from net.http_request_queue").fetchall() == [
            ("POST", "https://hooks.example.invalid/x")]
        assert c.execute("select jobname from cron.job").fetchall() == [("nightly-cleanup",)]
        assert c.execute("select decrypted_secret from vault.decrypted_secrets where name = 'webhook_url'"
                         ).fetchone() == ("https://hooks.example.invalid/x",)
        assert c.execute("select count(*) from pg_publication_tables where pubname = 'supabase_realtime'"
                         ).fetchone() == (1,)
        assert c.execute("select storage.foldername('u1/avatars/me.png'), storage.filename('u1/me.png'),"
                         " storage.extension('u1/me.png')").fetchone() == (["u1", "avatars"], "me.png", "png")
    [listed] = [r for r in apply_phase(ctx, None) if r.check_id == "HS106"]
    assert listed.outcome is Outcome.WARNED
    assert set(listed.evidence["stand_ins"]) == {"pg_cron", "pg_net", "pgcrypto", "uuid-ossp", "pg_graphql",
                                                 "supabase_vault"}
    assert all(text.startswith("healstack stand-in for") for text in listed.evidence["stand_ins"].values())


@pytest.mark.parametrize(("sql", "expected"), [
    # RFC 4231 test case 2 and FIPS 180-2's "abc"
    ("select encode(extensions.hmac('what do ya want for nothing?', 'Jefe', 'sha256'), 'hex')",
     "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
    ("select encode(extensions.digest('abc', 'sha256'), 'hex')",
     "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
    # RFC 4122's DNS namespace example, as uuid-ossp computes it
    ("select extensions.uuid_generate_v3(extensions.uuid_ns_dns(), 'www.example.com')::text",
     "5df41881-3aed-3515-88a7-2f4a814cf09e"),
    ("select extensions.crypt('pw', s) = s and extensions.crypt('other', s) <> s"
     " from (select extensions.crypt('pw', extensions.gen_salt('bf')) as s) as x", True),
    ("select length(extensions.gen_random_bytes(40))", 40),
])
def test_the_crypto_stand_ins_compute_what_the_real_ones_do(empty_db: str, sql: str, expected: object) -> None:
    if _major(empty_db) < 18:
        pytest.skip("the stand-ins need Postgres 18's extension_control_path (the embedded default)")
    with connect(empty_db, autocommit=True) as c:
        ensure_supabase_compat(c)  # every Supabase project starts with pgcrypto and uuid-ossp
        assert c.execute(sql).fetchone() == (expected,)


def test_the_report_says_near_the_top_that_stand_ins_are_not_the_platform(tmp_path: Path) -> None:
    record = {"run_id": "r1", "nodeid": "n", "phase": "apply", "check_id": "HS106", "outcome": "warned",
              "object": "extensions", "message": "2 platform extensions are healstack's stand-ins",
              "evidence": {"stand_ins": {"pg_net": "healstack stand-in for pg_net", "pgcrypto": "..."}}}
    data = RunData({"run_id": "r1"}, [record], tmp_path)
    page = render(data).read_text()
    connectivity = page[page.index('id="connectivity"'):page.index('id="migrations"')]
    assert "not the Supabase platform:</strong> pg_net, pgcrypto are healstack's stand-ins" in connectivity
