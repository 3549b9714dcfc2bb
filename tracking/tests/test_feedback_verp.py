"""Per-delivery return paths: built, read back, and refused when forged or garbled."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from django.utils.crypto import salted_hmac
from hypothesis import given
from hypothesis import strategies as st

from campaigns import links
from tracking.feedback import verp
from tracking.feedback.parse import parse

BIGGEST = 2**63 - 1  # a BigAutoField's largest id


@pytest.mark.parametrize("delivery_id", [0, 1, 255, 256, 1017, 10**9, BIGGEST])
def test_a_return_path_names_its_delivery(delivery_id):
    address = verp.return_path(delivery_id, "Bounce.Shop.Example")

    local, _, domain = address.partition("@")
    assert domain == "bounce.shop.example"
    assert local.startswith("bounces+")
    assert len(local) <= 64
    assert verp.delivery_of_address(address) == delivery_id


def test_the_biggest_id_fits_a_local_part_with_room_to_spare():
    assert len(f"bounces+{verp.token_for(BIGGEST)}") == 37


@given(st.integers(min_value=0, max_value=BIGGEST))
def test_a_server_that_changes_the_case_changes_nothing(delivery_id):
    address = verp.return_path(delivery_id, "bounce.shop.example")

    assert verp.delivery_of_address(address.upper()) == delivery_id
    assert verp.delivery_of_address(f"<{address.lower()}>") == delivery_id


def test_the_token_is_signed_like_the_unsubscribe_link(settings):
    """Signer's own signature (salted_hmac keyed by the salt and SECRET_KEY), in base32."""
    token = verp.token_for(1017)
    value, mac = token[:-16], token[-16:]

    expected = salted_hmac(verp.SALT + "signer", value, settings.SECRET_KEY, algorithm="sha256")
    assert mac == base64.b32encode(expected.digest()).decode().lower()[:16]


def test_an_unsubscribe_token_is_no_return_path_token_and_the_reverse():
    assert verp.delivery_of(links.token_for(1017)) is None
    assert links.delivery_of(verp.token_for(1017)) is None


@pytest.mark.parametrize(
    "address",
    [
        "",
        "bounces@bounce.shop.example",
        "bounces+@bounce.shop.example",
        "news@shop.example",
        "other+{token}@bounce.shop.example",  # another prefix
        "bounces+{token}x@bounce.shop.example",  # a character added
        "bounces+{short}@bounce.shop.example",  # a character cut
        "bounces+{flipped}@bounce.shop.example",  # a signature that does not match
        "bounces+{other_id}@bounce.shop.example",  # the id of another delivery, same signature
        "bounces+{token}",  # no domain
        "bounces+!!!!!!!!!!!!!!!!!!!!@bounce.shop.example",
    ],
)
def test_a_forged_or_garbled_return_path_names_no_delivery(address):
    token = verp.token_for(1017)
    other = verp.token_for(1018)
    flipped = token[:-1] + ("a" if token[-1] != "a" else "b")
    address = address.format(
        token=token, short=token[:-1], flipped=flipped, other_id=other[:-16] + token[-16:]
    )

    assert verp.delivery_of_address(address) is None


def test_a_token_from_another_install_names_no_delivery(settings):
    token = verp.token_for(1017)

    settings.SECRET_KEY = "another install's secret key, long enough to be one"

    assert verp.delivery_of(token) is None


def test_a_token_signed_with_a_retired_key_still_reads(settings):
    old = settings.SECRET_KEY
    token = verp.token_for(1017)

    settings.SECRET_KEY = "the new secret key after a rotation, long enough to be one"
    settings.SECRET_KEY_FALLBACKS = [old]

    assert verp.delivery_of(token) == 1017


def test_a_prefix_that_overflows_the_local_part_is_refused():
    with pytest.raises(ValueError, match="64"):
        verp.return_path(1, "bounce.shop.example", prefix="b" * 50)
    with pytest.raises(ValueError, match="domain"):
        verp.return_path(1, "")


def test_the_parser_finds_the_token_the_builder_made():
    address = verp.return_path(1017, "bounce.shop.example")
    raw = (
        b"Return-Path: <>\nFrom: MAILER-DAEMON@mx.example.net\n"
        + f"Delivered-To: {address.upper()}\n".encode()
        + b"Subject: failure notice\n\nHi. This is the qmail-send program at mx.example.net.\n\n"
        + b"<gone@example.net>:\nSorry, no mailbox here by that name. (#5.1.1)\n\n--- Below\n"
    )

    feedback = parse(raw)

    assert feedback.verp_token is not None
    assert verp.delivery_of(feedback.verp_token) == 1017


def test_our_message_id_names_its_delivery_and_no_other_does():
    ours = links.message_id_for(1017, 42, "shop.example")

    assert verp.delivery_of_message_id(ours) == 1017
    assert verp.delivery_of_message_id(ours.strip("<>")) == 1017
    forged = ours.replace(".1017.", ".1018.")
    assert verp.delivery_of_message_id(forged) is None
    assert verp.delivery_of_message_id("<8c2f0e1a9b7d4c3e@botnet-host.example>") is None
    assert verp.delivery_of_message_id("") is None


def _with_our_ids(name: str, delivery_id: int, *, token: bool = True, message_id: bool = True):
    """A corpus message with its made-up token and Message-ID replaced by real ones."""
    raw = (Path(__file__).parent / "corpus" / name).read_bytes()
    feedback = parse(raw)
    if token and feedback.verp_token:
        raw = raw.replace(feedback.verp_token.encode(), verp.token_for(delivery_id).encode())
    elif feedback.verp_token:
        raw = raw.replace(feedback.verp_token.encode(), b"zzzzzzzzzzzzzzzzzzzz")
    if feedback.message_id:
        ours = links.message_id_for(delivery_id, 42, "shop.example") if message_id else "<x@y>"
        raw = raw.replace(feedback.message_id.encode(), ours.encode())
    return parse(raw)


@pytest.mark.parametrize(
    "name",
    [
        "postfix_user_unknown.eml",
        "qmail_no_mailbox.eml",
        "arf_yahoo_abuse.eml",
        "out_of_office_outlook.eml",
        "human_reply.eml",
    ],
)
def test_feedback_is_matched_to_its_delivery_by_token_or_by_message_id(name):
    assert verp.delivery_of_feedback(_with_our_ids(name, 1017)) == 1017
    assert verp.delivery_of_feedback(_with_our_ids(name, 1017, token=False)) == 1017


def test_a_token_matches_without_our_message_id():
    feedback = _with_our_ids("postfix_user_unknown.eml", 1017, message_id=False)

    assert verp.delivery_of_feedback(feedback) == 1017


def test_the_arf_original_mail_from_carries_the_token():
    raw = (Path(__file__).parent / "corpus" / "arf_mailru_abuse.eml").read_bytes()
    token = parse(raw).verp_token
    assert token is not None
    # only the report's Original-Mail-From keeps it: the returned message loses its Return-Path
    raw = raw.replace(f"Return-Path: <bounces+{token}@bounce.shop.example>\n".encode(), b"")
    raw = raw.replace(f"envelope-from <bounces+{token}@".encode(), b"")

    assert parse(raw).verp_token == token


def test_feedback_about_a_message_we_never_sent_matches_nothing():
    feedback = parse((Path(__file__).parent / "corpus" / "dsn_not_ours.eml").read_bytes())

    assert verp.delivery_of_feedback(feedback) is None
