"""The training export: personal data redacted in every string (JSON and CSV), recall measured on a generated
corpus, and the second look refusing an export into which a leak was planted."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from healstack.bench.pii import Tally, measure
from healstack.db import connect
from healstack.export import pii, training
from healstack.export.training import LeakFound, export

PLANTED = ("zoë.keller+orders@bücher.de", "+44 20 7946 0958", "(416) 555-0199", "Priya Raman", "Jean-Luc Tremblay",
           "李娜", "m.ng@example.ca", "Ulmera Venmoor")
FEEDBACK = [
    ("Hi, my name is Priya Raman, reach me at zoë.keller+orders@bücher.de or +44 20 7946 0958.",
     "Sorry Priya Raman, we will call (416) 555-0199.", "Jean-Luc Tremblay"),
    ("请联系李娜 about order 4412 on 2026-11-30", "Refund of $45.99 approved.", None),
    ("Dear support, this is Ulmera Venmoor. My size is 9.", "Thanks for writing!", "m.ng@example.ca"),
]


@pytest.fixture
def feedback_db(migrated_db: str) -> str:
    with connect(migrated_db, autocommit=True) as c:
        for i, (text, draft, annotator) in enumerate(FEEDBACK):
            c.execute("insert into public.agent_feedback (project, conversation_id, input_text, model_draft,"
                      " annotator, notes, rubric) values ('p', %s, %s, %s, %s, %s, %s)",
                      [f"c{i}", text, draft, annotator, f"called {PLANTED[2]}",
                       json.dumps({"reviewer": "Priya Raman", "score": 4})])
            c.execute("insert into public.agent_queries (project, conversation_id, agent, query, result)"
                      " values ('p', %s, 'support', %s, '{}')", [f"c{i}", f"lookup customer {PLANTED[0]}"])
    return migrated_db


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_the_export_leaves_no_planted_personal_data(feedback_db: str, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"training.{fmt}"
    with connect(feedback_db) as c:
        assert export(c, out, fmt) == len(FEEDBACK)
    text = out.read_text(encoding="utf-8")
    assert not [p for p in PLANTED if p in text]
    assert all(mark in text for mark in (pii.EMAIL, pii.PHONE, pii.NAME))
    records: list[dict[str, Any]] = (json.loads(text) if fmt == "json"
                                     else list(csv.DictReader(text.splitlines())))
    assert "order 4412 on 2026-11-30" in records[1]["input_text"]  # ids, dates and amounts stay
    assert records[1]["model_draft"] == "Refund of $45.99 approved."
    queries = records[0]["queries"] if fmt == "json" else json.loads(records[0]["queries"])
    assert queries[0]["query"] == f"lookup customer {pii.EMAIL}"


def test_the_second_look_refuses_a_planted_leak(feedback_db: str, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    real = pii.redact
    monkeypatch.setattr(pii, "redact", lambda text: text if "Ulmera" in text else real(text))
    out = tmp_path / "training.json"
    with connect(feedback_db) as c, pytest.raises(LeakFound, match="record 3, input_text") as refused:
        export(c, out, "json")
    assert not list(tmp_path.iterdir())  # neither the export nor its partial file
    assert "Ulmera" not in str(refused.value)  # where, never what


@pytest.mark.any_postgres
def test_redaction_recall_on_a_generated_corpus() -> None:
    measured = measure(items=150)
    found = {kind: t.found / t.planted for kind, t in measured.items() if isinstance(t, Tally)}
    assert found["emails"] == found["phones, international (every region)"] == 1.0
    assert found["phones, national forms of the regions read"] == 1.0
    assert found["names, introduced (Faker, 17 locales)"] >= 0.97
    assert found["names, not introduced (Faker, 17 locales)"] >= 0.95
    assert found["made-up names, introduced"] == 1.0
    assert measured["safe sentences changed"] == 0


@pytest.mark.any_postgres
@pytest.mark.parametrize("text, kept", [
    ("Will the store open at 9 on Monday, May 14?", True),
    ("Can I return order #36294 from 2026-11-30 for $45.99?", True),
    ("Thanks for your help, the parcel arrived.", True),
    ("Will Smith called", False),
    ("Hello Zorblat, your order shipped", False),
    ("Call +49 30 901820 or 030 901820", False),
])
def test_what_is_and_is_not_personal_data(text: str, kept: bool) -> None:
    assert (pii.redact(text) == text) is kept, pii.redact(text)


def test_the_command_writes_the_export(feedback_db: str, tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "healstack", "export-training", "--format", "csv", "--out",
                           str(tmp_path / "t.csv")], capture_output=True, text=True, cwd=tmp_path, check=False,
                          env={**os.environ, "DATABASE_URL": feedback_db})
    assert done.returncode == 0, done.stderr
    assert "3 records" in done.stdout and (tmp_path / "t.csv").is_file()
    assert training.FORMATS == ("json", "csv")
