"""The optional GitHub Issues sink: one issue per ticket fingerprint, found again by a marker in its body (never
by title, which people edit), reopened with a comment when the failure recurs, closed with a comment when its
check passes again. On when HEALSTACK_GITHUB_ISSUES names the repository (owner/name) and GITHUB_TOKEN is set."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from healstack.backlog.tickets import Change, Ticket
from healstack.notify import Poster
from healstack.redact import redact

REPOSITORY, TOKEN, API = "HEALSTACK_GITHUB_ISSUES", "GITHUB_TOKEN", "GITHUB_API_URL"
LABEL = "healstack"
_MARKER = re.compile(r"<!-- healstack:fingerprint:(?P<fp>[^>]+?) -->")
_NEXT = re.compile(r'<([^>]+)>;\s*rel="next"')


class GitHubError(Exception):
    pass


@dataclass
class GitHubIssues:
    repository: str
    token: str
    api: str = "https://api.github.com"
    poster: Poster | None = None
    transport: httpx.BaseTransport | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str], **options: Any) -> GitHubIssues | None:
        repository, token = environ.get(REPOSITORY, "").strip(), environ.get(TOKEN, "").strip()
        if not repository or not token:
            return None
        return cls(repository, token, environ.get(API, "https://api.github.com").rstrip("/"), **options)

    @property
    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": "2022-11-28"}

    def _check(self, response: httpx.Response, what: str) -> Any:
        if response.status_code in (403, 429) and response.headers.get("x-ratelimit-remaining") == "0":
            raise GitHubError(f"{what}: rate limited until {response.headers.get('x-ratelimit-reset')} (epoch)")
        if response.status_code >= 400:
            raise GitHubError(f"{what}: HTTP {response.status_code} {response.text.strip()[:120]}")
        return response.json() if response.content else None

    def existing(self) -> dict[str, dict[str, Any]]:
        """The repository's healstack issues (open and closed) by fingerprint."""
        found: dict[str, dict[str, Any]] = {}
        url: str | None = f"{self.api}/repos/{self.repository}/issues?state=all&labels={LABEL}&per_page=100"
        with httpx.Client(timeout=15.0, transport=self.transport) as client:
            while url:
                response = client.get(url, headers=self._headers)
                for issue in self._check(response, "listing issues") or []:
                    marker = _MARKER.search(issue.get("body") or "")
                    if marker:
                        found[marker["fp"]] = issue
                match = _NEXT.search(response.headers.get("Link", ""))
                url = match.group(1) if match else None
        return found

    def _send(self, method: str, path: str, payload: dict[str, Any], what: str) -> Any:
        url = f"{self.api}/repos/{self.repository}/{path}"
        if method == "POST":
            response = (self.poster or Poster(transport=self.transport)).post(url, payload, self._headers)
        else:
            with httpx.Client(timeout=15.0, transport=self.transport) as client:
                response = client.request(method, url, json=payload, headers=self._headers)
        return self._check(response, what)

    def sync(self, changes: list[tuple[Change, Ticket]]) -> list[str]:
        """Mirror the run's ticket changes; what was done, for the run's record."""
        notes = []
        try:
            issues = self.existing()
            for change, ticket in changes:
                issue = issues.get(ticket.fingerprint)
                title = f"[healstack] {ticket.check_id} {ticket.object}"[:250]
                if issue is None and change is not Change.RESOLVED:
                    created = self._send("POST", "issues", {"title": title, "body": ticket.body,
                                                             "labels": [LABEL]}, "creating an issue")
                    notes.append(f"github: opened #{created['number']} for {ticket.fingerprint}")
                elif issue is not None and change in (Change.OPENED, Change.REOPENED) and issue["state"] == "closed":
                    self._send("PATCH", f"issues/{issue['number']}", {"state": "open"}, "reopening")
                    self._send("POST", f"issues/{issue['number']}/comments",
                               {"body": f"Failing again ({ticket.last_seen}, run {ticket.last_run})."}, "commenting")
                    notes.append(f"github: reopened #{issue['number']}")
                elif issue is not None and change is Change.RESOLVED and issue["state"] == "open":
                    self._send("POST", f"issues/{issue['number']}/comments",
                               {"body": f"Passing again ({ticket.resolved_at}, run {ticket.last_run})."}, "commenting")
                    self._send("PATCH", f"issues/{issue['number']}", {"state": "closed", "state_reason": "completed"},
                               "closing")
                    notes.append(f"github: closed #{issue['number']}")
        except (GitHubError, httpx.HTTPError) as e:
            notes.append(redact(f"github: stopped: {e}", {TOKEN: self.token}))
        return notes
