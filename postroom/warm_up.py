"""What a web process's first requests would otherwise do under load, done as it starts.

A new process imports every view on its first request (the URL configuration), reads the
translation catalogues of a language the first time it is asked for, and compiles each
template the first time it is rendered (the cached loader keeps it after). Measured on the
load benchmark's database: the first request of a process cost 512 ms of CPU and each page's
first view two to ten times its usual cost, about 0.75 s in all, paid while the first users
of a restart or a deployment wait. Done here, at import, before the process serves; nothing
here touches the database, which may not be up yet and whose connections are per thread.
"""

from __future__ import annotations

import logging
from pathlib import Path

from django.conf import settings
from django.template import TemplateSyntaxError, engines
from django.template.utils import get_app_template_dirs
from django.urls import get_resolver
from django.utils import translation

log = logging.getLogger(__name__)


def warm_up() -> int:
    """Load the URL configuration, every language's catalogue and the project's templates;
    how many templates were compiled."""
    resolver = get_resolver()
    for code, _name in settings.LANGUAGES:
        with translation.override(code):  # activating a language reads its catalogues
            resolver.reverse_dict  # noqa: B018 - imports every view, fills this language's map
    return _compile_templates()


def _compile_templates() -> int:
    """Compile the project's own templates into the cached loader (not Django's admin's)."""
    root = Path(settings.BASE_DIR).resolve()
    venv = root / ".venv"
    compiled = 0
    for engine in engines.all():
        folders = [*map(Path, engine.dirs), *(Path(d) for d in get_app_template_dirs("templates"))]
        for folder in folders:
            folder = folder.resolve()
            if not folder.is_relative_to(root) or folder.is_relative_to(venv):
                continue
            for path in sorted(folder.rglob("*.html")):
                name = path.relative_to(folder).as_posix()
                try:
                    engine.get_template(name)
                except TemplateSyntaxError:  # the page that uses it says so, as before
                    log.exception("template %s does not compile", name)
                    continue
                compiled += 1
    return compiled
