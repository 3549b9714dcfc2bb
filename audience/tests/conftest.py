from __future__ import annotations

from typing import Any

import pytest

from audience.services import workspace_initialize


@pytest.fixture
def workspace(personas: Any) -> Any:
    """The personas' workspace with the default custom fields (free_field1..3)."""
    workspace_initialize(workspace=personas.workspace)
    return personas.workspace


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
