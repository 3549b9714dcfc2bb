"""Opens and clicks end to end: a campaign sent to a real SMTP sink, its real message's
pixel and tracked links followed through the web layer."""

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import ReaderIps
from audience.models import Suppression
from audience.selectors import recipient_data
from audience.services import recipient_erase
from campaigns import links
from campaigns.engine.step import Engine
from campaigns.models import Campaign, Delivery
from campaigns.services import campaign_start
from campaigns.tests.conftest import make_campaign
from content.models import Template
from tracking.models import Event, EventKind

pytestmark = pytest.mark.django_db

PERSON = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120"
HTML = (
    "<html><body><p>Dear {first_name}</p>"
    '<p><a href="https://shop.example/sale?x=1&amp;y=2">Sale</a></p>'
    '<p><a href="https://shop.example/for?name={first_name}">For you</a></p>'
    '<p><a href="mailto:help@shop.example">Help</a> <a href="#top">Top</a></p>'
    '<p><a href="{unsubscribe_url}">Unsubscribe</a> <a href="{view_in_browser_url}">View</a>'
    "</p></body></html>"
)
TEXT = "Dear {first_name}\nSale: https://shop.example/sale?x=1&y=2\nStop: {unsubscribe_url}\n"


def send(workspace, sink, *, opens=True, clicks=True, **campaign_fields):
    workspace.track_opens, workspace.track_clicks = opens, clicks
    workspace.save()
    setup = make_campaign(workspace, sink, emails=["ann@example.test"])
    Template.objects.filter(pk=setup.campaign.template_id or 0).update(
        html_body=HTML, text_body=TEXT
    )
    Campaign.objects.filter(pk=setup.campaign.pk).update(**campaign_fields)
    campaign_start(campaign=setup.campaign)
    Engine().step()
    [message] = sink.wait_for(1)
    return message


def path_of(url: str) -> str:
    return "/" + url.split("/", 3)[3]


def tracked(body: str) -> list[str]:
    return re.findall(r"https?://[^\s\"'<>]+/c/[^\s\"'<>]+", body)


def test_a_click_on_a_real_message_redirects_to_its_link_and_is_recorded(personas, smtp_sink):
    message = send(personas.workspace, smtp_sink)
    html_links = tracked(message.html)
    assert len(html_links) == 2  # mailto, anchor, unsubscribe and view are not rewritten
    assert "mailto:help@shop.example" in message.html
    assert "/u/" in message.html
    assert "/v/" in message.html
    assert tracked(message.text)[0] == html_links[0]  # one link, one index in both parts
    response = Client(HTTP_USER_AGENT=PERSON).get(path_of(html_links[0]))
    assert response.status_code == 302
    assert response["Location"] == "https://shop.example/sale?x=1&y=2"
    event = Event.objects.get()
    delivery = Delivery.objects.get()
    assert (event.kind, event.link_index, event.delivery_id) == ("clicked", 0, delivery.pk)
    assert event.url == "https://shop.example/sale?x=1&y=2"
    assert event.campaign_id == delivery.campaign_id
    assert event.account_id == delivery.account_id is not None  # the report groups by it
    assert event.ip == "127.0.0.0"  # the test client's 127.0.0.1, truncated to its /24


def test_a_personalised_link_leads_where_the_untracked_one_would(personas, smtp_sink):
    message = send(personas.workspace, smtp_sink)
    response = Client(HTTP_USER_AGENT=PERSON).get(path_of(tracked(message.html)[1]))
    assert response["Location"] == "https://shop.example/for?name=Name0"


def test_utm_parameters_of_the_campaign_are_added(personas, smtp_sink):
    message = send(personas.workspace, smtp_sink, utm_source="postroom", utm_campaign="spring")
    response = Client().get(path_of(tracked(message.html)[0]))
    assert response["Location"] == (
        "https://shop.example/sale?x=1&y=2&utm_source=postroom&utm_campaign=spring"
    )


def test_the_open_pixel_answers_a_gif_and_records_an_open(personas, smtp_sink):
    message = send(personas.workspace, smtp_sink)
    [pixel] = re.findall(r'<img src="([^"]+/o/[^"]+)"', message.html)
    response = Client(HTTP_USER_AGENT=PERSON).get(path_of(pixel))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/gif"
    assert response.content.startswith(b"GIF89a")
    event = Event.objects.get()
    assert event.kind == EventKind.OPENED
    assert event.machine is True  # seconds after sending: a proxy fetching on arrival
    assert event.account_id == Delivery.objects.get().account_id is not None


def test_a_second_link_clicked_at_once_is_a_scanner(personas, smtp_sink):
    message = send(personas.workspace, smtp_sink)
    Delivery.objects.update(sent_at=timezone.now() - timedelta(hours=1))
    first, second = tracked(message.html)
    client = Client(HTTP_USER_AGENT=PERSON)
    client.get(path_of(first))
    client.get(path_of(second))
    assert list(Event.objects.order_by("id").values_list("link_index", "machine")) == [
        (0, False),
        (1, True),
    ]


def test_tracking_off_rewrites_nothing_and_the_message_has_no_pixel(personas, smtp_sink):
    message = send(personas.workspace, smtp_sink, opens=False, clicks=False)
    assert 'href="https://shop.example/sale?x=1&amp;y=2"' in message.html
    assert "/o/" not in message.html
    assert tracked(message.html) == []
    assert Campaign.objects.get().content["tracking"] == {"opens": False, "clicks": False}


def test_a_campaign_can_turn_tracking_off_in_a_workspace_that_tracks(personas, smtp_sink):
    message = send(personas.workspace, smtp_sink, track_clicks=False, track_opens=False)
    assert tracked(message.html) == []
    assert "/o/" not in message.html
    delivery = Delivery.objects.get()
    token = links.token_for(delivery.pk)
    assert Client().get(f"/c/{token}/0").status_code == 404
    assert Client().get(f"/o/{token}/").status_code == 200  # an image, but nothing is kept
    assert not Event.objects.exists()


def test_bad_tokens_and_indexes_answer_404_and_record_nothing(personas, smtp_sink):
    send(personas.workspace, smtp_sink)
    delivery = Delivery.objects.get()
    token = links.token_for(delivery.pk)
    forged = token[:-2] + ("xx" if not token.endswith("xx") else "yy")
    client = Client()
    assert client.get(f"/c/{forged}/0").status_code == 404
    assert client.get(f"/o/{forged}/").status_code == 404
    assert client.get(f"/c/{token}/2").status_code == 404  # the campaign has links 0 and 1
    assert client.get(f"/c/{token}/99999").status_code == 404
    assert client.get(f"/c/{links.token_for(delivery.pk + 1000)}/0").status_code == 404
    assert client.get(f"/c/{token}/0?url=https://evil.example/").status_code == 302
    assert client.get(f"/c/{token}/0?url=https://evil.example/")["Location"].startswith(
        "https://shop.example/"
    )
    assert Event.objects.filter(kind=EventKind.CLICKED).count() == 2  # the two good ones


def test_another_workspaces_token_reaches_only_its_own_campaigns_links(personas, smtp_sink):
    send(personas.workspace, smtp_sink)  # Acme's campaign has two links
    other = personas.other_workspace
    other.track_clicks = True
    other.save()
    setup = make_campaign(other, smtp_sink, emails=["bob@example.test"])
    Template.objects.filter(pk=setup.campaign.template_id or 0).update(
        html_body='<a href="https://globex.example/">G</a>'
    )
    campaign_start(campaign=setup.campaign)
    Engine().step()
    theirs = Delivery.objects.get(workspace=other)
    token = links.token_for(theirs.pk)
    assert Client().get(f"/c/{token}/1").status_code == 404  # Acme's link 1 is not theirs
    assert Client().get(f"/c/{token}/0")["Location"] == "https://globex.example/"
    assert list(Event.objects.values_list("workspace_id", flat=True)) == [other.pk]


def test_addresses_are_not_stored_when_the_workspace_says_so(personas, smtp_sink):
    personas.workspace.reader_ips = ReaderIps.NONE
    message = send(personas.workspace, smtp_sink)
    Client(REMOTE_ADDR="198.51.100.77").get(path_of(tracked(message.html)[0]))
    assert Event.objects.get().ip is None


def test_unsubscribing_records_one_event_per_delivery(personas, smtp_sink):
    message = send(personas.workspace, smtp_sink)
    url = path_of(message.header("List-Unsubscribe").strip("<>"))
    client = Client()
    for _ in range(3):
        assert client.post(url).status_code == 200
    event = Event.objects.get()
    assert (event.kind, event.source, event.delivery_id) == (
        "unsubscribed",
        "link",
        Delivery.objects.get().pk,
    )
    assert Suppression.objects.count() == 1


def test_privacy_export_and_erasure_include_events(personas, smtp_sink):
    message = send(personas.workspace, smtp_sink)
    Client(HTTP_USER_AGENT=PERSON).get(path_of(tracked(message.html)[0]))
    recipient = Delivery.objects.get().recipient
    assert recipient is not None
    exported = recipient_data(recipient)
    assert [e["kind"] for e in exported["events"]] == ["clicked"]
    assert exported["events"][0]["url"] == "https://shop.example/sale?x=1&y=2"
    recipient_erase(recipient=recipient, keep_blocked=False)
    assert not Event.objects.filter(email="ann@example.test").exists()


def test_a_hit_costs_two_statements_and_no_page_middleware(
    personas, smtp_sink, django_assert_num_queries
):
    message = send(personas.workspace, smtp_sink)
    Delivery.objects.update(sent_at=timezone.now() - timedelta(hours=1))
    [pixel] = re.findall(r'<img src="([^"]+/o/[^"]+)"', message.html)
    first, second = tracked(message.html)
    client = Client(HTTP_USER_AGENT=PERSON)
    client.get(path_of(pixel))  # the campaign's frozen links are read once per process
    with django_assert_num_queries(2):  # the delivery, the INSERT
        response = client.get(path_of(pixel))
    assert response.status_code == 200
    # no session, no CSRF cookie, nothing that varies by one: the page middleware never ran
    assert not response.cookies
    assert "Vary" not in response
    assert "X-Frame-Options" not in response
    with django_assert_num_queries(2):  # the delivery with its recent hits, the INSERT
        response = client.get(path_of(first))
    assert response.status_code == 302
    client.get(path_of(second))  # personalised: the recipient is read too
    clicks = list(Event.objects.filter(kind=EventKind.CLICKED).order_by("id"))
    assert [(e.link_index, e.machine) for e in clicks] == [(0, False), (1, True)]  # a burst
    opened = Event.objects.filter(kind=EventKind.OPENED).first()
    assert opened is not None
    assert (opened.machine, opened.ip, opened.user_agent) == (False, "127.0.0.0", PERSON)


def test_a_click_after_an_open_soon_after_sending_is_a_person(personas, smtp_sink):
    message = send(personas.workspace, smtp_sink)
    [pixel] = re.findall(r'<img src="([^"]+/o/[^"]+)"', message.html)
    client = Client(HTTP_USER_AGENT=PERSON)
    client.get(path_of(pixel))  # within seconds of sending: the open is a machine's
    client.get(path_of(tracked(message.html)[0]))  # but a click after an open is a person's
    assert list(Event.objects.order_by("id").values_list("kind", "machine")) == [
        ("opened", True),
        ("clicked", False),
    ]


def test_paths_like_a_hits_but_not_one_go_to_the_urls(personas, client):
    assert client.get("/o/abc/def/").status_code == 404
    assert client.get("/c/abc/x").status_code == 404
    assert client.get("/o/").status_code == 404
