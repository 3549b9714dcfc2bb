"""System checks for the sending settings (`manage.py check`, `check --deploy`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register


@register(Tags.security, deploy=True)
def private_hosts_in_production(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    if settings.SENDING_ALLOW_PRIVATE_HOSTS and not settings.DEBUG:
        return [
            Warning(
                "SENDING_ALLOW_PRIVATE_HOSTS is on: users can make the server connect to its "
                "own network (loopback, private addresses, cloud metadata).",
                hint="Turn it off in production unless every SMTP server is on your network.",
                id="sending.W001",
            )
        ]
    return []


@register()
def extra_ca_file_exists(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    path = settings.SENDING_EXTRA_CA_FILE
    if path and not Path(path).is_file():
        return [
            Error(
                f"SENDING_EXTRA_CA_FILE={path} is not a readable file.",
                hint="Point it at a PEM file of CA certificates, or leave it empty.",
                id="sending.E001",
            )
        ]
    return []
