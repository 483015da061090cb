"""healstack runs exactly the statements a file holds, whatever its characters, and names the right line."""

from __future__ import annotations

import pytest

from healstack.context import Context
from healstack.db import connect
from healstack.errors import ConfigError
from healstack.migrate.runner import apply_migrations
from healstack.migrate.statements import split

MULTIBYTE = """\
-- price in ¥, 日本円; naïve café ☕ (3- and 4-byte characters: 🍣)
create table if not exists public.prices (id int primary key, label text not null);
-- ümlaut
insert into public.prices values (1, 'ü ¥ 🍣') on conflict do nothing;
insert into public.prices values (2, $$dollar-quoted 日本$$) on conflict do nothing;
"""


def test_statements_after_multibyte_characters_are_cut_exactly():
    statements = split(MULTIBYTE, "0001_prices.sql")
    assert [s.sql.split(" ", 2)[:2] for s in statements] == [["create", "table"], ["insert", "into"],
                                                              ["insert", "into"]]
    assert statements[1].sql.endswith("on conflict do nothing") and statements[2].sql.endswith("do nothing")
    assert [s.line for s in statements] == [2, 4, 5]


def test_a_syntax_error_after_multibyte_characters_names_its_line():
    with pytest.raises(ConfigError, match=r"0001_prices.sql:4: syntax error at or near \"selct\""):
        split("-- ¥¥¥ 🍣\nselect 1;\n-- ü\nselct 2;\n", "0001_prices.sql")


def test_a_file_with_multibyte_characters_applies_whole(empty_db, test_settings, tmp_path):
    migrations = tmp_path / "migrations"
    migrations.mkdir()
    (migrations / "0001_prices.sql").write_text(MULTIBYTE, encoding="utf-8")
    outcome = apply_migrations(Context(empty_db, test_settings.with_(migrations_dir=migrations)))
    assert outcome.failure is None and outcome.applied == ["0001_prices.sql"]
    with connect(empty_db) as conn:
        rows = conn.execute("select id, label from public.prices order by id").fetchall()
    assert rows == [(1, "ü ¥ 🍣"), (2, "dollar-quoted 日本")]
