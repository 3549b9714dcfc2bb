"""The engine's fast links are exactly Django's: tokens verify, URLs match reverse()."""

import hmac
import sys
import threading
import time

import pytest
from django.core import signing

from campaigns import links, verp


@pytest.mark.parametrize("delivery_id", [1, 61, 62, 123456789, 2**40])
def test_a_token_is_djangos_signed_value_and_names_its_delivery(delivery_id, settings):
    settings.SECRET_KEY = "a-test-secret-key-that-is-long-enough-for-django-checks"
    expected = signing.Signer(salt=links._SALT).sign(signing.b62_encode(delivery_id))
    assert links.token_for(delivery_id) == expected
    assert links.delivery_of(links.token_for(delivery_id)) == delivery_id


def test_a_token_follows_a_new_secret_key(settings):
    settings.SECRET_KEY = "first-secret-key-for-the-links-test-0123456789"
    first = links.token_for(7)
    settings.SECRET_KEY = "second-secret-key-for-the-links-test-0123456789"
    assert links.token_for(7) != first
    assert links.delivery_of(first) is None
    assert links.delivery_of(links.token_for(7)) == 7


def test_a_token_signed_with_a_fallback_key_still_names_its_delivery(settings):
    # as Signer.unsign: a rotated SECRET_KEY keeps the links of messages already sent working
    settings.SECRET_KEY = "old-secret-key-for-the-links-test-0123456789"
    sent = links.token_for(7)
    settings.SECRET_KEY = "new-secret-key-for-the-links-test-0123456789"
    settings.SECRET_KEY_FALLBACKS = ["old-secret-key-for-the-links-test-0123456789"]
    assert links.delivery_of(sent) == 7
    settings.SECRET_KEY_FALLBACKS = []
    assert links.delivery_of(sent) is None


@pytest.mark.parametrize(
    "token", ["", ":", "7", "7:", ":abc", "7:ÿ", "7:abc:def", "!!:" + "a" * 43, "7\x00:abc"]
)
def test_a_mangled_token_names_no_delivery(token):
    assert links.delivery_of(token) is None


def test_a_signed_token_that_is_not_a_number_names_no_delivery(settings):
    value = "not-b62!"
    signed = signing.Signer(salt=links._SALT).sign(value)
    assert links.delivery_of(signed) is None


def test_batch_links_are_the_reverse_urls(settings):
    settings.SITE_URL = "https://mail.example.test"
    made = links.DeliveryLinks()
    token = links.token_for(42)
    assert made.unsubscribe_url(token) == links.unsubscribe_url(token)
    assert made.view_url(token) == links.view_url(token)
    assert made.unsubscribe_url(token).startswith("https://mail.example.test/")


def test_a_message_id_is_the_same_hmac_as_before(settings):
    """A retry after an upgrade carries the Message-ID its first try did."""
    mac = hmac.digest(settings.SECRET_KEY.encode(), b"12.345", "sha256").hex()[:12]
    assert links.message_id_for(345, 12, "example.test") == f"<12.345.{mac}@example.test>"


@pytest.mark.parametrize(
    "sign",
    [
        lambda n: links.token_for(n),
        lambda n: links.message_id_for(n, 1, "example.test"),
        lambda n: verp.token_for(n),
    ],
    ids=["link token", "Message-ID", "VERP token"],
)
def test_signing_a_message_keeps_the_gil(sign):
    """The engine thread signs two or three values a message. OpenSSL's one-shot HMAC
    (hmac.digest) let go of the GIL at each, and a busy thread of the worker's then kept it
    for up to the switch interval while the batch's connections waited. With a long switch
    interval, a thread that spins beside never runs while the values are signed."""
    spins = [0]
    stop = threading.Event()

    def spin() -> None:
        while not stop.is_set():
            spins[0] += 1

    interval = sys.getswitchinterval()
    sys.setswitchinterval(0.5)  # no forced hand-over within the loop below
    spinner = threading.Thread(target=spin)
    try:
        spinner.start()
        time.sleep(0.01)  # the spinner runs and holds the GIL
        before = spins[0]
        for n in range(1, 300):
            sign(n)
        after = spins[0]
    finally:
        stop.set()
        spinner.join()
        sys.setswitchinterval(interval)
    assert after == before, f"another thread ran {after - before} spins while signing"
