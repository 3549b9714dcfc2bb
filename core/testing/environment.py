"""The environment the test suite runs in, set before Django reads its settings.

Loaded as a pytest plugin (`-p core.testing.environment` in pyproject's addopts), so that it
runs before pytest-django imports the settings; a root conftest is imported too late for that.
Outside `make run`, Postroom starts in production mode and refuses to start without secrets: the
suite sets its own, random for each run (never read from `var/`, so a clean clone behaves as
any other), and worker processes started by tests inherit them. Variables already set win.
"""

from __future__ import annotations

import base64
import os
import secrets

os.environ.setdefault("POSTROOM_TESTING", "1")
# Development behaviour (plain HTTP, private SMTP hosts such as the tests' own sink).
os.environ.setdefault("DEBUG", "True")
os.environ.setdefault("SECRET_KEY", "test-" + secrets.token_urlsafe(50))
os.environ.setdefault("ENCRYPTION_KEYS", base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())
