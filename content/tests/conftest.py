import pytest


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    # Attachment files go to a fresh directory per test, never to var/media.
    settings.MEDIA_ROOT = tmp_path / "media"
