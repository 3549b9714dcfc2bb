"""What SQL a request made, and which of it Django's compiler wrote while serving it."""

from __future__ import annotations

import re
from typing import Any
from unittest.mock import patch

from django.db import connection
from django.db.models.sql.compiler import SQLCompiler
from django.test.utils import CaptureQueriesContext


def statements(client: Any, path: str) -> list[str]:
    """The SQL run while `client` gets `path` (which must answer 200)."""
    with CaptureQueriesContext(connection) as captured:
        _answered(client.get(path), path)
    return [q["sql"] for q in captured.captured_queries]


def compiled_by_the_orm(client: Any, path: str) -> list[str]:
    """The SQL Django's compiler wrote while `client` got `path` (which must answer 200):
    what `core.compiled` has compiled once is not written again."""
    written: list[str] = []
    compile_sql = SQLCompiler.as_sql

    def spy(self: SQLCompiler, *args: Any, **kwargs: Any) -> Any:
        sql, params = compile_sql(self, *args, **kwargs)
        written.append(sql)
        return sql, params

    with patch.object(SQLCompiler, "as_sql", spy):
        _answered(client.get(path), path)
    return written


def lookups(sql: list[str], table: str, unique: str) -> list[str]:
    """The statements that read `table` by its unique `unique` column(s)."""
    pattern = re.compile(rf'FROM "{table}".* WHERE .*"{table}"\."{unique}" = ', re.S)
    return [s for s in sql if pattern.search(s)]


def _answered(response: Any, path: str) -> None:
    if response.status_code != 200:
        raise AssertionError(f"{path} answered {response.status_code}")
