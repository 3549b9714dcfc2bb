"""Postroom: a self-hosted, multi-user email campaign platform."""

from postroom.celery import app as celery_app

__all__ = ("celery_app",)
