"""A person's address taken out of the campaigns' records (right to erasure).

Deliveries and attempts keep the address they were sent to, and a server's reply often
repeats it ("550 5.1.1 <ann@example.com>: unknown user"); a single e-mail's campaign is named
after it. An erased person's rows stay, so that the campaigns' counts and the log's figures
do not change, but with the address blanked, and cut out of the replies and the names.
"""

from __future__ import annotations

from django.db import transaction

from accounts.models import Workspace
from campaigns.models import Attempt, Campaign, Delivery
from campaigns.selectors import deliveries_of_address
from core.erasure import Scrubber, scrub_rows


@transaction.atomic
def deliveries_erase(*, workspace: Workspace, email: str) -> int:
    """Blank `email` in the workspace's deliveries and their attempts; how many deliveries.

    Named in settings.RECIPIENT_ERASERS, called while the recipient still exists: its
    deliveries, those sent to the address and those an earlier recipient of the address left
    are found by index (selectors.deliveries_of_address), their attempts by the deliveries'
    ids. The log is never read whole.
    """
    scrub = Scrubber(email)
    address = scrub.address
    if not address:
        return 0
    ids = deliveries_of_address(workspace, address)
    # A single e-mail's campaign is named after its address (editing.email_queue_single).
    singles = Campaign.objects.filter(workspace=workspace, is_single=True)
    scrub_rows(singles, scrub, text=("name",))
    if not ids:
        return 0
    deliveries = Delivery.objects.filter(pk__in=ids)
    scrub_rows(deliveries, scrub, text=("last_reply",))
    deliveries.update(email="")
    attempts = Attempt.objects.filter(workspace=workspace, delivery_id__in=ids)
    scrub_rows(attempts, scrub, text=("reply",))
    attempts.update(email="")
    return len(ids)
