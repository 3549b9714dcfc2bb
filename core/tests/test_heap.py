"""core.heap: a started process's heap is frozen and full collections are spaced out, in the
embedded worker, the web process and the Celery worker."""

from __future__ import annotations

import gc
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from core import heap

ROOT = Path(__file__).resolve().parents[2]


class Kept:
    pass


@pytest.fixture
def restored() -> Iterator[None]:
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


def test_settle_freezes_the_heap_and_spaces_full_collections(restored):
    young, middle, _ = gc.get_threshold()
    gc.unfreeze()
    kept = Kept()  # an object start-up made
    heap.settle()
    assert gc.get_freeze_count() > 1000
    assert gc.get_threshold() == (young, middle, heap.FULL_COLLECTION_AFTER)
    assert not any(o is kept for o in gc.get_objects())  # no collection walks it


@pytest.mark.django_db
def test_the_worker_command_settles_before_it_runs(restored, monkeypatch):
    from campaigns.workers import embedded
    from postroom.management.commands import worker

    gc.unfreeze()
    seen = []
    monkeypatch.setattr(worker, "lock_path", lambda: "")
    monkeypatch.setattr(
        embedded.ThreadedWorker,
        "run",
        lambda self: seen.append((gc.get_freeze_count(), gc.get_threshold()[2])),
    )
    monkeypatch.setattr(embedded.ThreadedWorker, "install_signal_handlers", lambda self: None)
    worker.Command().handle(idle=1.0)
    ((frozen, full_after),) = seen
    assert frozen > 1000
    assert full_after == heap.FULL_COLLECTION_AFTER


@pytest.mark.parametrize(
    "module",
    ["postroom.wsgi", "postroom.celery"],
)
def test_a_web_process_is_settled_once_started(module):
    """The web process settles at import of its WSGI module; the Celery worker on its
    signals, which this calls as Celery does."""
    code = (
        "import gc, django, os\n"
        "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'postroom.settings')\n"
        "django.setup()\n"
        f"import {module} as m\n"
        "if hasattr(m, 'settle_heap'):\n"
        "    from celery.signals import worker_process_init\n"
        "    worker_process_init.send(sender=None)\n"
        "print(gc.get_freeze_count(), gc.get_threshold()[2])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    frozen, full_after = map(int, done.stdout.split()[-2:])
    assert frozen > 1000
    assert full_after == heap.FULL_COLLECTION_AFTER
