"""A row as one line of COPY's text format, built here rather than by the driver's per-value dumpers.

The loader hashes exactly the line it sends, so a row is formatted once and hashed once. Source rows are
mostly plain strings (APIs send numbers as text): for those the line is one ``join``; a row holding a None,
a number, a date or a character COPY must escape takes the per-field path."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

# what COPY's text format gives a meaning to: the escape character, the delimiter and the line ends
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_NULL = "\\N"


def _field(value: Any) -> str:
    if value is None:
        return _NULL
    if value is True or value is False:
        return "t" if value else "f"
    return (value if isinstance(value, str) else str(value)).translate(_ESCAPES)


def copy_line(values: Sequence[Any]) -> bytes:
    """``values`` as a line of COPY text (UTF-8, no line end): NULL as \\N, specials escaped."""
    try:
        line = "\t".join(values)
    except TypeError:  # not all strings
        return "\t".join(map(_field, values)).encode()
    if line.count("\t") != len(values) - 1 or "\\" in line or "\n" in line or "\r" in line:
        line = "\t".join(map(_field, values))
    return line.encode()
