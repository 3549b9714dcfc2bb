"""The engine's fast links are exactly Django's: tokens verify, URLs match reverse()."""

import pytest
from django.core import signing

from campaigns import links


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
