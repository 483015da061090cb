"""A ticket's Markdown body: what failed, its evidence, the remedy (the delta for a drift, the failing case for
RLS, the rows and the rule's file:line for data quality, the fix text for a lint), and its history."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from healstack.report.evidence import Code, Fields, Table, blocks, remedy, title
from healstack.report.stream import RunData

if TYPE_CHECKING:
    from healstack.backlog.tickets import Ticket

_DETAIL = re.compile(r"<!-- detail -->\n(?P<detail>.*?)<!-- /detail -->", re.S)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def evidence_markdown(record: dict[str, Any]) -> str:
    out: list[str] = []
    for block in blocks(record):
        if isinstance(block, Fields):
            out += [f"- **{k}**: {_cell(v)}" for k, v in block.items]
        elif isinstance(block, Table):
            out += ["", f"{block.title}:", "", "| " + " | ".join(map(_cell, block.headers)) + " |",
                    "|" + "---|" * len(block.headers), *("| " + " | ".join(map(_cell, row)) + " |"
                                                           for row in block.rows)]
        elif isinstance(block, Code):
            out += ["", f"{block.title}:", "", "```sql", block.text, "```"]
    return "\n".join(out)


MAX_FINDINGS = 25


def _detail(found: list[dict[str, Any]], data: RunData) -> str:
    record = found[0]
    findings = [f"- `{r['outcome'].upper()}` {r['message']}" for r in found[:MAX_FINDINGS]]
    if len(found) > MAX_FINDINGS:
        findings.append(f"- ... and {len(found) - MAX_FINDINGS} more in the run's report")
    return "\n".join([
        "## What failed", "", *findings, "",
        "## Evidence" + (" (of the first)" if len(found) > 1 else ""), "", evidence_markdown(record), "",
        "## Remedy", "", remedy(record), "",
        f"Report of the run that found it: `{data.directory / 'index.html'}`", "",
    ])


def ticket_body(ticket: Ticket, found: list[dict[str, Any]] | None, data: RunData) -> str:
    """The body for a ticket after this run: a fresh detail when it failed, the last one kept when resolved."""
    if found:
        detail = _detail(found, data)
        headline = title(found[0])
    else:
        kept = _DETAIL.search(ticket.body)
        detail = kept["detail"] if kept else ""
        headline = ticket.body.splitlines()[0].split(": ", 1)[-1] if ticket.body else ticket.check_id
    status = f"resolved on {ticket.resolved_at}" if ticket.status == "resolved" else "open"
    return "\n".join([
        f"# {ticket.check_id} {ticket.object}: {headline}", "",
        f"**Status:** {status} · **Phase:** {ticket.phase} · **Severity:** {ticket.severity} · "
        f"**Seen:** {ticket.occurrences} runs, first {ticket.first_seen}, last {ticket.last_seen}", "",
        "<!-- detail -->", detail + "<!-- /detail -->", "",
        "## History", "", *(f"- {line}" for line in ticket.history), "",
        f"<!-- healstack:fingerprint:{ticket.fingerprint} -->", "",
    ])
