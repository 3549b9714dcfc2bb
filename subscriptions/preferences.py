"""The preference centre: what a recipient sees and changes through the `{preferences_url}` of a
message (`/p/<token>/`, and `/api/public/preferences/<token>/`).

The delivery's signed token (campaigns.links) is the only credential, as for the unsubscribe
link: it names one delivery, so one person of one workspace, and nothing else is reachable.

Which lists are shown: the workspace's lists the person is on, and the lists its sign-up forms
offer (the ones the workspace lets anyone join). A list that is neither is never named, and a
list of another workspace never. Ticking a list adds the person with a Consent row (method
"preference centre"): the link reached only their mailbox, which is what a confirmation
e-mail proves. Unticking removes them from that list only.

Which fields: first and last name, and the custom fields some sign-up form of the workspace
asks (validated by `clean_custom_values`, as on the forms). Other fields are the workspace's.

"Unsubscribe from everything" is the one-click unsubscribe (tracking.services.unsubscribe):
suppression, the recipient unsubscribed, one event per delivery.

A suppressed address, or a recipient erased or no longer active, gets a closed centre: the
page says so and nothing can be changed. Recipient edits are not audited (the audit log is
for what users of the workspace do; the Consent rows and events keep the person's own acts).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Workspace
from audience.fields import JsonValue
from audience.models import (
    Consent,
    ConsentMethod,
    CustomField,
    ListMembership,
    Recipient,
    RecipientList,
    RecipientStatus,
)
from audience.selectors import custom_fields, is_suppressed
from audience.services import clean_custom_values
from campaigns import links
from campaigns.models import Delivery
from subscriptions.models import SignupForm
from tracking import services as tracking_services
from tracking.hits import stored_ip

SOURCE = "Preference centre"
STANDARD = {"first_name": "First name", "last_name": "Last name"}
NAME_MAX = 200  # Recipient.first_name / last_name


@dataclass
class Centre:
    """One person's preference centre. `recipient` is None when it is closed (see module)."""

    delivery: Delivery
    workspace: Workspace
    recipient: Recipient | None

    @property
    def email(self) -> str:
        return self.delivery.email

    @property
    def closed(self) -> bool:
        return self.recipient is None


def centre_for(token: str) -> Centre | None:
    """The centre a token opens, or None for a forged token or a delivery that is gone."""
    delivery_id = links.delivery_of(token)
    if delivery_id is None:
        return None
    delivery = (
        Delivery.objects.select_related("campaign", "workspace", "recipient")
        .filter(pk=delivery_id)
        .first()
    )
    if delivery is None:
        return None
    workspace = delivery.workspace
    person = delivery.recipient
    if person is not None and person.workspace_id != workspace.pk:
        return None  # never another workspace's person, whatever the rows say
    if (
        person is None
        or person.status != RecipientStatus.ACTIVE
        or is_suppressed(workspace, delivery.email)
    ):
        person = None
    return Centre(delivery=delivery, workspace=workspace, recipient=person)


def offered_lists(workspace: Workspace, recipient: Recipient | None) -> list[RecipientList]:
    """The lists shown: those the person is on, and those the workspace's forms offer."""
    on_forms = SignupForm.objects.filter(workspace=workspace, lists__isnull=False).values("lists")
    shown = Q(pk__in=on_forms)
    if recipient is not None:
        shown |= Q(
            pk__in=ListMembership.objects.filter(recipient=recipient).values("recipient_list")
        )
    return list(RecipientList.objects.filter(shown, workspace=workspace).order_by("name", "id"))


def member_of(recipient: Recipient | None) -> set[int]:
    if recipient is None:
        return set()
    return set(
        ListMembership.objects.filter(recipient=recipient).values_list(
            "recipient_list_id", flat=True
        )
    )


def asked_fields(workspace: Workspace) -> list[CustomField]:
    """The workspace's custom fields that one of its sign-up forms asks, in their order."""
    asked: set[str] = set()
    for names in SignupForm.objects.filter(workspace=workspace).values_list("fields", flat=True):
        asked.update(str(n) for n in names or ())
    return [cf for cf in custom_fields(workspace) if cf.key in asked]


@dataclass(frozen=True)
class Choices:
    """What a person submitted: the lists ticked (ids), names, custom values as text."""

    lists: set[int]
    values: dict[str, str]
    custom: dict[str, str]


@transaction.atomic
def preferences_save(
    *, centre: Centre, given: Choices, ip: str, now: datetime | None = None
) -> None:
    """Apply a person's choices. Lists not shown to them are ignored; the custom values are
    checked first, so a bad one raises ValidationError (`field_<key>`) and nothing is saved."""
    if centre.recipient is None:
        raise ValidationError(_("These preferences can no longer be changed."))
    now = now or timezone.now()
    workspace = centre.workspace
    asked = {cf.key for cf in asked_fields(workspace)}
    custom = clean_custom_values(workspace, {k: v for k, v in given.custom.items() if k in asked})
    errors = {
        name: f"Use at most {NAME_MAX} characters."
        for name in STANDARD
        if len(given.values.get(name, "")) > NAME_MAX
    }
    if errors:
        raise ValidationError(errors)
    person = Recipient.objects.select_for_update().get(pk=centre.recipient.pk)
    _save_fields(person, given, asked, custom, now)
    shown = {item.pk: item for item in offered_lists(workspace, person)}
    was = member_of(person)
    wanted = {pk for pk in given.lists if pk in shown}
    added = [shown[pk] for pk in sorted(wanted - was)]
    removed = (was & set(shown)) - wanted
    if removed:
        ListMembership.objects.filter(recipient=person, recipient_list_id__in=removed).delete()
    if added:
        ListMembership.objects.bulk_create(
            [ListMembership(recipient_list=item, recipient=person) for item in added],
            ignore_conflicts=True,
        )
        kept_ip = stored_ip(ip, workspace.reader_ips)
        Consent.objects.bulk_create(
            [
                Consent(
                    workspace=workspace,
                    recipient=person,
                    recipient_list=item,
                    list_name=item.name,
                    method=ConsentMethod.PREFERENCES,
                    source=SOURCE,
                    signed_up_at=now,
                    signed_up_ip=kept_ip,
                    confirmed_at=now,
                    confirmed_ip=kept_ip,
                )
                for item in added
            ]
        )


def _save_fields(
    person: Recipient,
    given: Choices,
    asked: set[str],
    custom: dict[str, JsonValue],
    now: datetime,
) -> None:
    changed: list[str] = []
    for name in STANDARD:
        if name in given.values and given.values[name].strip() != getattr(person, name):
            setattr(person, name, given.values[name].strip())
            changed.append(name)
    fields: dict[str, Any] = dict(person.fields)
    for key in asked & set(given.custom):
        if key in custom:
            fields[key] = custom[key]
        else:
            fields.pop(key, None)  # emptied on the page
    if fields != person.fields:
        person.fields = fields
        changed.append("fields")
    if changed:
        person.updated_at = now
        person.save(update_fields=[*changed, "updated_at"])


def unsubscribe_all(*, centre: Centre) -> None:
    """What the one-click unsubscribe does, from the preference centre."""
    tracking_services.unsubscribe(delivery=centre.delivery, source="preference centre")
