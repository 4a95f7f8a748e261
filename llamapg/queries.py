"""SQL lives in `sql/` as files; this loads them by name.

Values are always bound as query parameters. Identifiers that depend on data (a model's vector
table) are composed with psycopg.sql.Identifier, never pasted as text.
"""

from __future__ import annotations

from functools import lru_cache

from psycopg import sql

from llamapg.settings import REPO_ROOT

SQL_DIR = REPO_ROOT / "sql"


@lru_cache
def text(name: str) -> str:
    path = SQL_DIR / f"{name}.sql"
    if not path.is_file():
        raise FileNotFoundError(f"SQL file not found: {path}")
    return path.read_text()


def load(
    name: str,
    literals: dict[str, int | float] | None = None,
    fragments: dict[str, sql.Composable] | None = None,
    **identifiers: str,
) -> sql.Composed | sql.SQL:
    """The query `sql/<name>.sql`, with `{placeholders}` filled by quoted identifiers.

    `literals` fill placeholders where PostgreSQL accepts no bound parameter (DDL options such
    as an index's `WITH (m = ...)`); they must be numbers. `fragments` are composed SQL (with
    their own bound placeholders), such as compiled metadata filters.
    """
    query = sql.SQL(text(name))
    values: dict[str, sql.Composable] = {key: sql.Identifier(value) for key, value in identifiers.items()}
    values.update(fragments or {})
    for key, value in (literals or {}).items():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError(f"literal {key!r} must be a number, got {value!r}")
        values[key] = sql.Literal(value)
    return query.format(**values) if values else query
