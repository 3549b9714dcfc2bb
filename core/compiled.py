"""ORM queries compiled once and run many times: for the few that every request makes.

Django compiles a queryset's SQL anew each time it runs: 200 to 400 µs of the web process's
CPU for a one-row lookup, more than PostgreSQL takes to answer it, and every page pays it for
the signed-in user and their membership before the view begins. `Compiled` builds its query
once with marker values where the parameters go, keeps the SQL and the compiler (which knows
how to make model instances of the rows, `select_related` included), and each run binds the
new values only. The instances are Django's own, made by its ModelIterable.

A value of another type than its marker's (None, which makes `IS NULL` of `= %s`; a string
for an id, which the ORM would convert) runs through the ORM as written.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from django.db import connections, models
from django.db.models.query import ModelIterable, QuerySet

M = TypeVar("M", bound=models.Model)


class Compiled(Generic[M]):
    """`build(**parameters)` (a queryset of model instances), compiled on first use.

    `markers` give each parameter a value that stands for it while the SQL is written: one no
    constant of the query can equal (a negative id, say), and distinct from the others.
    """

    def __init__(self, build: Callable[..., QuerySet[M]], **markers: Any) -> None:
        if len({repr(value) for value in markers.values()}) != len(markers):
            raise ValueError("each parameter needs a marker of its own")
        self.build = build
        self.markers = markers
        self._ready: tuple[QuerySet[M], Any, str, tuple[Any, ...]] | None = None
        self._lock = threading.Lock()

    def first(self, **values: Any) -> M | None:
        """The first row of the query for these values, or None."""
        if values.keys() != self.markers.keys():
            raise TypeError(f"expected the values of {', '.join(self.markers)}")
        if any(type(values[name]) is not type(marker) for name, marker in self.markers.items()):
            # None, or a value the ORM would convert: its rows as the ORM gives them (not
            # `.first()`, which would sort, and cannot once the query is sliced).
            return next(iter(self.build(**values)), None)
        queryset, compiler, sql, slots = self._prepared()
        params = tuple(values[slot] if isinstance(slot, str) else slot[0] for slot in slots)
        runner = copy.copy(compiler)  # its state is the query's; only the parameters change
        runner.as_sql = lambda *args, **kwargs: (sql, params)
        # The connection it was made with is the preparing thread's: each run takes its own.
        runner.connection = connections[queryset.db]
        return next(iter(ModelIterable(_Run(queryset, runner))), None)  # type: ignore[arg-type]

    def _prepared(self) -> tuple[QuerySet[M], Any, str, tuple[Any, ...]]:
        ready = self._ready
        if ready is not None:
            return ready
        with self._lock:
            if self._ready is not None:  # another thread prepared it meanwhile
                return self._ready
            queryset = self.build(**self.markers)
            compiler = queryset.query.get_compiler(using=queryset.db)
            sql, params = compiler.as_sql()
            slots = tuple(self._slot(param) for param in params)
            missing = self.markers.keys() - {slot for slot in slots if isinstance(slot, str)}
            if missing:
                raise ValueError(f"the query does not use {', '.join(sorted(missing))}")
            ready = (queryset, compiler, sql, slots)
            self._ready = ready
            return ready

    def _slot(self, param: Any) -> str | tuple[Any]:
        """The name of the parameter `param` stands for, or `(param,)`: a constant, kept."""
        for name, marker in self.markers.items():
            if type(param) is type(marker) and param == marker:
                return name
        return (param,)


class _Run:
    """What ModelIterable reads of a queryset, around a compiler ready to run. (Copying the
    queryset itself would run its query: a QuerySet's copy fills its cache first.)"""

    def __init__(self, queryset: QuerySet[Any], compiler: Any) -> None:
        self.db = queryset.db
        self.model = queryset.model
        self._known_related_objects: dict[Any, Any] = {}
        self.query = self
        self._compiler = compiler

    def get_compiler(self, *args: Any, **kwargs: Any) -> Any:
        return self._compiler
