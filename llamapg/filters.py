"""Document-metadata filters, turned into SQL with bound parameters.

A filter maps a metadata key to a value (equality), `{"in": [...]}`, or a range with any of
`gt`, `gte`, `lt`, `lte` over numbers or ISO dates (`2024-05-01`, `2024-05-01T12:00:00Z`).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from psycopg import sql
from psycopg.types.json import Jsonb

RANGE_OPERATORS = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}


class FilterError(ValueError):
    """A filter that cannot be applied; the message says which key and why."""


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _iso_date(key: str, value: str) -> str:
    try:
        (datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value))
    except ValueError as exc:
        raise FilterError(f"filter {key!r}: {value!r} is neither a number nor an ISO date") from exc
    return value


def compile_filters(filters: dict[str, Any] | None, alias: str = "d") -> tuple[sql.Composable, dict[str, Any]]:
    """An `AND ...` fragment over `<alias>.metadata` and its parameters (empty when no filters)."""
    if not filters:
        return sql.SQL(""), {}
    clauses: list[sql.Composable] = []
    params: dict[str, Any] = {}
    metadata = sql.SQL("{}.metadata").format(sql.Identifier(alias))
    for position, (key, condition) in enumerate(sorted(filters.items())):
        if not key or len(key) > 200:
            raise FilterError(f"invalid filter key {key!r}")
        name = f"filter_{position}"
        params[f"{name}_key"] = key
        field = sql.SQL("{} -> {}").format(metadata, sql.Placeholder(f"{name}_key"))
        text = sql.SQL("{} ->> {}").format(metadata, sql.Placeholder(f"{name}_key"))
        if not isinstance(condition, dict):
            if isinstance(condition, (list, tuple)):
                raise FilterError(f"filter {key!r}: use {{\"in\": [...]}} to match any of several values")
            params[f"{name}_value"] = Jsonb(condition)
            clauses.append(sql.SQL("{} = {}").format(field, sql.Placeholder(f"{name}_value")))
            continue
        unknown = set(condition) - set(RANGE_OPERATORS) - {"in"}
        if unknown or not condition:
            raise FilterError(
                f"filter {key!r}: unknown operator(s) {', '.join(sorted(unknown)) or '(none given)'}; "
                "use a value, {\"in\": [...]}, or gt/gte/lt/lte"
            )
        if "in" in condition:
            values = condition["in"]
            if not isinstance(values, list) or not values:
                raise FilterError(f"filter {key!r}: \"in\" takes a non-empty list")
            params[f"{name}_in"] = [Jsonb(v) for v in values]
            clauses.append(sql.SQL("{} = ANY({}::jsonb[])").format(field, sql.Placeholder(f"{name}_in")))
        for operator, symbol in RANGE_OPERATORS.items():
            if operator not in condition:
                continue
            bound = condition[operator]
            placeholder = sql.Placeholder(f"{name}_{operator}")
            if _is_number(bound):
                params[f"{name}_{operator}"] = bound
                # Rows whose value is not a number are excluded rather than failing the cast.
                clauses.append(sql.SQL("(jsonb_typeof({field}) = 'number' AND ({text})::numeric {op} {value})").format(
                    field=field, text=text, op=sql.SQL(symbol), value=placeholder))
            elif isinstance(bound, str):
                params[f"{name}_{operator}"] = _iso_date(key, bound)
                # ISO dates and timestamps order correctly as text.
                clauses.append(sql.SQL("(jsonb_typeof({field}) = 'string' AND {text} {op} {value})").format(
                    field=field, text=text, op=sql.SQL(symbol), value=placeholder))
            else:
                raise FilterError(f"filter {key!r}: {operator} takes a number or an ISO date, got {bound!r}")
    return sql.SQL(" AND ").join([sql.SQL(""), *clauses]), params
