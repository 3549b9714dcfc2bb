from __future__ import annotations

from typing import Any

import pytest

from accounts.models import Workspace
from audience.services import workspace_initialize
from conftest import Personas


@pytest.fixture
def workspace(personas: Personas) -> Workspace:
    """The personas' workspace with the default custom fields (free_field1..3)."""
    workspace_initialize(workspace=personas.workspace)
    return personas.workspace


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
