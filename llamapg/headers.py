"""A chunk's context header: its document's title and its section's heading path, in one line.

The same line is embedded and indexed with the chunk (see assets/ingestion/chunking.py) and labels
the chunk's block in the answer's context (llamapg/context.py)."""

from __future__ import annotations

from typing import Sequence

HEADING_JOINER = " > "


def context_header(title: str | None, headings: Sequence[str]) -> str:
    """The title, then the heading path; a first heading that repeats the title is said once."""
    title = " ".join((title or "").split())
    headings = list(headings)
    if headings and title and headings[0].casefold() == title.casefold():
        headings = headings[1:]
    return HEADING_JOINER.join(part for part in (title, *headings) if part)
