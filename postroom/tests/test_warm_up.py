"""A web process imports its views, reads its catalogues and compiles its templates as it
starts (postroom.wsgi), so that its first users do not pay for them."""

from __future__ import annotations

from django.template import engines
from django.template.loaders.cached import Loader as CachedLoader

from postroom.warm_up import warm_up


def _cached_loader() -> CachedLoader:
    loader = engines["django"].engine.template_loaders[0]  # type: ignore[attr-defined]
    assert isinstance(loader, CachedLoader)
    return loader


def test_the_warm_up_compiles_every_page_template_without_the_database():
    # No database mark: a query here would fail the test (the database may not be up yet).
    loader = _cached_loader()
    loader.reset()
    compiled = warm_up()
    names = {
        template.origin.template_name
        for template in loader.get_template_cache.values()
        if hasattr(template, "origin")
    }
    assert compiled == len(names)
    pages = {"base.html", "accounts/login.html", "audience/index.html", "campaigns/detail.html"}
    assert pages <= names
    assert not any(name.startswith("admin/") for name in names)  # Django's own stay lazy


def test_the_web_application_is_warm_once_imported():
    import gc
    import importlib

    import postroom.wsgi

    loader = _cached_loader()
    loader.reset()
    threshold = gc.get_threshold()
    try:
        importlib.reload(postroom.wsgi)
    finally:  # the module settles the heap (core.heap): not this test process's
        gc.unfreeze()
        gc.set_threshold(*threshold)
    assert len(loader.get_template_cache) > 100
