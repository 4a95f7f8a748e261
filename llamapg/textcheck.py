"""Text that PostgreSQL and JSON can hold: no NUL character, no lone surrogate (JSON's "\\ud800"
decodes to one, and no UTF-8 encoder takes it), no NaN or infinity, at any depth of a JSON value."""

from __future__ import annotations

import math
from typing import Any


def text_problem(value: Any) -> str | None:
    """Why `value` cannot be stored as text or JSON, or None when it can."""
    if isinstance(value, str):
        if "\x00" in value:
            return "contains a NUL character"
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return "is not valid Unicode text (it holds a lone surrogate)"
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return f"holds {value!r}; numbers must be finite"
    if isinstance(value, dict):
        return next((problem for item in (*value.keys(), *value.values()) if (problem := text_problem(item))), None)
    if isinstance(value, (list, tuple)):
        return next((problem for item in value if (problem := text_problem(item))), None)
    return None


def plain_text(value: str) -> str:
    """A pydantic validator: the string as is, or ValueError saying what is wrong with it."""
    problem = text_problem(value)
    if problem:
        raise ValueError(f"the text {problem}")
    return value
