"""`{{ account.status_reason|account_reason }}`: see `sending.reasons`."""

from __future__ import annotations

from django import template

from sending import reasons

register = template.Library()


@register.filter
def account_reason(reason: str) -> str:
    return reasons.translated(str(reason or ""))
