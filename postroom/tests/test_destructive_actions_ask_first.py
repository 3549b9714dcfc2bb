"""Every destructive action of the UI asks first, saying what will be lost, and only the
confirmation's POST acts: a stray POST (a double click, a replayed form, a planted form)
changes nothing. The confirmation page itself is `accounts.confirm`'s, tested there once.

Campaigns, recipients, lists, segments and fields have their own tests of what their pages
say (campaigns/tests/test_confirmations.py, audience's); this covers the rest, one row each.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from accounts.keys.services import api_key_create
from accounts.models import Membership
from audience.models import Suppression, SuppressionReason
from content.services import attachment_add
from content.tests.factories import TemplateFactory
from sending.models import DkimKey, SendingAccount
from sending.services import dkim_key_create
from sending.tests.factories import SendingAccountFactory
from webhooks.models import Endpoint
from webhooks.tests.factories import make_endpoint

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@dataclass
class Action:
    """A destructive route: what it is made on, its URL, whether the thing is still there,
    and words its confirmation page must say."""

    make: Callable[[Any], Any]
    url: Callable[[Any], str]
    exists: Callable[[Any], bool]
    says: str
    client: str = "owner_client"


def _attachment(personas: Any) -> Any:
    template = TemplateFactory.create(workspace=personas.workspace, name="Offer")
    return attachment_add(template=template, filename="offer.pdf", data=PDF)


ACTIONS = {
    "sending account": Action(
        make=lambda p: SendingAccountFactory.create(workspace=p.workspace, name="Main relay"),
        url=lambda a: reverse("sending:account_delete", kwargs={"account_id": a.pk}),
        exists=lambda a: SendingAccount.objects.filter(pk=a.pk).exists(),
        says="Delete the sending account Main relay?",
    ),
    "DKIM key": Action(
        make=lambda p: dkim_key_create(workspace=p.workspace, domain="example.com", selector="pr"),
        url=lambda k: reverse("sending:dkim_delete", kwargs={"dkim_key_id": k.pk}),
        exists=lambda k: DkimKey.objects.filter(pk=k.pk).exists(),
        says="Messages from example.com go unsigned",
    ),
    "attachment": Action(
        make=_attachment,
        url=lambda a: reverse(
            "content:attachment_delete",
            kwargs={"template_id": a.template_id, "attachment_id": a.pk},
        ),
        exists=lambda a: type(a).objects.filter(pk=a.pk).exists(),
        says="Remove offer.pdf?",
        client="editor_client",
    ),
    "webhook endpoint": Action(
        make=lambda p: make_endpoint(p.workspace, "http://127.0.0.1:9/in"),
        url=lambda e: reverse("webhooks:delete", kwargs={"endpoint_id": e.pk}),
        exists=lambda e: Endpoint.objects.filter(pk=e.pk).exists(),
        says="Delete the endpoint http://127.0.0.1:9/in?",
    ),
    "member": Action(
        make=lambda p: Membership.objects.get(workspace=p.workspace, user=p.editor),
        url=lambda m: reverse("accounts:member_remove", kwargs={"membership_id": m.pk}),
        exists=lambda m: Membership.objects.filter(pk=m.pk).exists(),
        says="Remove editor@acme.test from this workspace?",
    ),
    "own membership": Action(
        make=lambda p: Membership.objects.get(workspace=p.workspace, user=p.viewer),
        url=lambda m: reverse("accounts:workspace_leave"),
        exists=lambda m: Membership.objects.filter(pk=m.pk).exists(),
        says="Leave “Acme”?",
        client="viewer_client",
    ),
    "API key": Action(
        make=lambda p: (
            api_key_create(
                workspace=p.workspace, name="CRM sync", role="viewer", created_by=p.owner
            ).api_key
        ),
        url=lambda k: reverse("api_key_revoke", kwargs={"api_key_id": k.pk}),
        exists=lambda k: type(k).objects.filter(pk=k.pk, revoked_at__isnull=True).exists(),
        says="Revoke the key “CRM sync”?",
    ),
    "suppression": Action(
        make=lambda p: Suppression.objects.create(
            workspace=p.workspace, email="gone@example.com", reason=SuppressionReason.BOUNCED
        ),
        url=lambda s: reverse("audience:suppression_delete", kwargs={"suppression_id": s.pk}),
        exists=lambda s: Suppression.objects.filter(pk=s.pk).exists(),
        says="Let campaigns mail gone@example.com again?",
    ),
}


@pytest.mark.parametrize("name", ACTIONS)
def test_a_destructive_action_asks_first_and_acts_only_when_confirmed(
    name: str, personas: Any, request: pytest.FixtureRequest, settings: Any
) -> None:
    settings.SENDING_ALLOW_PRIVATE_HOSTS = True  # the endpoint is on loopback
    action = ACTIONS[name]
    client: Client = request.getfixturevalue(action.client)
    thing = action.make(personas)
    url = action.url(thing)

    asked = client.post(url)
    assert asked.status_code == 200
    page = asked.content.decode()
    assert action.says in page
    assert 'name="confirmed" value="yes"' in page
    assert action.exists(thing), f"the {name} went at the first POST"
    assert client.get(url).status_code == 405  # a link or a crawler changes nothing either
    assert action.exists(thing)

    done = client.post(url, {"confirmed": "yes"})
    assert done.status_code == 302
    assert not action.exists(thing), f"the {name} stayed after the confirmation"
