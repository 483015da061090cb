"""The commit a folder's files came from, when the folder is in a git checkout (evidence, never required)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path


def commit_of(path: Path) -> str | None:
    """The last commit touching ``path`` (with "+changes" when its files differ from it), or None."""
    git = shutil.which("git")
    if git is None or not path.exists():
        return None
    try:
        done = subprocess.run([git, "log", "-1", "--format=%H", "--", "."], cwd=path, capture_output=True,
                              text=True, timeout=10, check=True)
        dirty = subprocess.run([git, "status", "--porcelain", "--", "."], cwd=path, capture_output=True,
                               text=True, timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    commit = done.stdout.strip()
    return (commit + ("+changes" if dirty.stdout.strip() else "")) or None
