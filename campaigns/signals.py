"""Signals campaigns sends, for apps above it (webhooks) that must not be imported here.

`campaign_status_changed` is sent inside the transaction that changed the status, after the
row is saved, with `campaign`, `previous` (the old status), `action` (a transitions.py action)
and `at`. Receivers run in that transaction: what they write commits or rolls back with it.
"""

from django.dispatch import Signal

campaign_status_changed = Signal()
