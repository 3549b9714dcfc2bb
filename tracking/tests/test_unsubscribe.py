"""One-click unsubscribe (RFC 8058) and the view-in-browser link."""

import pytest
from django.test import Client

from audience.models import Recipient, RecipientStatus, Suppression
from campaigns import links
from campaigns.engine.step import Engine
from campaigns.models import Delivery
from campaigns.services import campaign_start
from campaigns.tests.conftest import make_campaign

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent(personas, smtp_sink):
    setup = make_campaign(personas.workspace, smtp_sink, emails=["ann@example.test"])
    campaign_start(campaign=setup.campaign)
    Engine().step()
    [message] = smtp_sink.wait_for(1)
    return message


def path_of(url: str) -> str:
    return "/" + url.split("/", 3)[3]


def test_the_one_click_post_unsubscribes_without_cookies_or_redirects(sent):
    url = path_of(sent.header("List-Unsubscribe").strip("<>"))
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        url, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 200
    assert "You are unsubscribed" in response.content.decode()
    assert Suppression.objects.get(email="ann@example.test").reason == "unsubscribed"
    assert Recipient.objects.get(email="ann@example.test").status == RecipientStatus.UNSUBSCRIBED
    again = client.post(
        url, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )
    assert again.status_code == 200
    assert Suppression.objects.count() == 1


def test_a_get_only_asks(sent):
    url = path_of(sent.header("List-Unsubscribe").strip("<>"))
    response = Client().get(url)
    assert response.status_code == 200
    assert 'method="post"' in response.content.decode()
    assert not Suppression.objects.exists()


def test_forged_tokens_answer_404(sent):
    delivery = Delivery.objects.get()
    forged = links.token_for(delivery.pk)[:-2] + "xx"
    assert Client().post(f"/u/{forged}/").status_code == 404
    assert Client().get(f"/v/{forged}/").status_code == 404
    assert not Suppression.objects.exists()


def test_view_in_browser_shows_the_personalised_message_under_a_strict_csp(sent):
    delivery = Delivery.objects.get()
    response = Client().get(f"/v/{links.token_for(delivery.pk)}/")
    assert response.status_code == 200
    assert "Dear Name0 of Acme" in response.content.decode()
    assert "sandbox" in response["Content-Security-Policy"]
    assert "script-src" not in response["Content-Security-Policy"]
