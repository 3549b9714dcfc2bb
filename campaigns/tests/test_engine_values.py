"""Each message is filled from its claimed row: standard and custom fields, links, Message-ID."""

import pytest

from audience.models import CustomField, Recipient
from campaigns import links
from campaigns.engine.step import Engine
from campaigns.models import Delivery
from campaigns.services import campaign_start
from campaigns.tests.conftest import make_campaign
from content.models import Template

pytestmark = pytest.mark.django_db


def test_standard_and_custom_fields_and_links_fill_the_message(personas, smtp_sink):
    for key in ("free_field1", "free_field2", "free_field3"):
        CustomField.objects.get_or_create(
            workspace=personas.workspace, key=key, defaults={"label": key}
        )
    setup = make_campaign(
        personas.workspace, smtp_sink, emails=["ada@example.test", "bob@example.test"]
    )
    ada, bob = setup.recipients
    Recipient.objects.filter(pk=ada.pk).update(
        last_name="Lovelace",
        city="London",
        fields={"free_field1": "Gold", "free_field2": 42, "free_field3": True},
    )
    Recipient.objects.filter(pk=bob.pk).update(fields={})
    assert setup.campaign.template_id is not None
    Template.objects.filter(pk=setup.campaign.template_id).update(
        text_body="{first_name} {last_name|-} in {city|nowhere}: {free_field1|none} "
        "{free_field2|none} {free_field3|none} <{email}> {view_in_browser_url}",
        html_body="",
    )
    setup.campaign.refresh_from_db()
    campaign_start(campaign=setup.campaign)
    Engine().step()
    received = {m.rcpt_tos[0]: m for m in smtp_sink.wait_for(2)}
    ada_delivery = Delivery.objects.get(email="ada@example.test")
    token = links.token_for(ada_delivery.pk)
    assert received["ada@example.test"].text.strip() == (
        f"Name0 Lovelace in London: Gold 42 yes <ada@example.test> {links.view_url(token)}"
    )
    assert received["bob@example.test"].text.startswith("Name1 - in nowhere: none none none <bob@")
    assert (
        received["ada@example.test"].header("List-Unsubscribe")
        == f"<{links.unsubscribe_url(token)}>"
    )
    assert received["ada@example.test"].message_id == ada_delivery.message_id
