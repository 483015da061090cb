"""Where this repository's own declarations are: its migrations, checks/ and fixtures/."""

from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
