"""A campaign's files are frozen at its start like its text: the template can change after."""

from __future__ import annotations

from pathlib import Path

import pytest

from campaigns.editing import campaign_delete
from campaigns.engine.step import Engine
from campaigns.models import Campaign
from campaigns.services import campaign_start
from campaigns.tests.conftest import make_campaign
from content.models import Template
from content.services import attachment_add, attachment_delete

pytestmark = pytest.mark.django_db(transaction=True)

ORIGINAL = b"%PDF-1.4 the terms as they were when the campaign started\n%%EOF\n"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def run_until_idle(engine: Engine) -> None:
    for _ in range(50):
        if not engine.step():
            return


def test_changing_the_templates_files_after_the_start_changes_nothing_sent(
    personas, smtp_sink, settings
):
    setup = make_campaign(personas.workspace, smtp_sink, n=3)
    assert setup.campaign.template_id is not None
    template = Template.objects.get(pk=setup.campaign.template_id)
    first = attachment_add(template=template, filename="terms.pdf", data=ORIGINAL)
    campaign_start(campaign=setup.campaign)

    attachment_delete(attachment=first)  # the template changes while the campaign runs
    attachment_add(template=template, filename="other.pdf", data=b"%PDF-1.4 other\n%%EOF\n")
    run_until_idle(Engine())

    messages = smtp_sink.wait_for(3)
    assert {tuple((name, data) for name, _, data in m.attachments) for m in messages} == {
        (("terms.pdf", ORIGINAL),)
    }
    frozen = [Path(settings.MEDIA_ROOT) / e["path"] for e in _content(setup.campaign)]
    assert all(path.read_bytes() == ORIGINAL for path in frozen)

    assert Campaign.objects.get(pk=setup.campaign.pk).status == "completed"
    campaign_delete(campaign=Campaign.objects.get(pk=setup.campaign.pk))
    assert not any(path.exists() for path in frozen)  # the copies go with the campaign


def _content(campaign: Campaign) -> list[dict[str, str]]:
    campaign.refresh_from_db()
    return list(campaign.content["attachments"])
