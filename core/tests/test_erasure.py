"""The scrubber cuts one address out of text and JSON, in any case, and nothing else."""

from __future__ import annotations

from core.erasure import ERASED, Scrubber


def test_text_in_any_case_and_nothing_around_it():
    scrub = Scrubber(" Ann@Example.test ")
    assert scrub.text("550 <ANN@EXAMPLE.TEST>: unknown. Write to ann@example.test.") == (
        f"550 <{ERASED}>: unknown. Write to {ERASED}."
    )
    # Other people's addresses that contain it stay whole.
    for other in ("joann@example.test", "jo.ann@example.test", "ann@example.test.org"):
        assert scrub.text(f"cc {other}, ann@example.test") == f"cc {other}, {ERASED}"
    assert scrub.text("nothing here") == "nothing here"


def test_percent_encoded_in_a_link_or_a_query_string():
    scrub = Scrubber("Ann+News@example.test")
    assert scrub.spellings == ["ann+news@example.test", "ann%2Bnews%40example.test"]
    assert scrub.text("q=ann%2bnews%40example.test&status=active") == f"q={ERASED}&status=active"
    assert scrub.text("https://shop.test/?e=ANN%2BNEWS%40EXAMPLE.TEST") == (
        f"https://shop.test/?e={ERASED}"
    )
    # Someone else's, encoded: jo+ann+news@… and ann+news@example.test.org stay whole.
    for other in ("jo%2Bann%2Bnews%40example.test", "ann%2Bnews%40example.test.org"):
        assert scrub.text(f"q={other}") == f"q={other}"


def test_a_short_address_made_longer_is_cut_to_the_column():
    assert Scrubber("a@b.cd").text("to a@b.cd", 10) == f"to {ERASED}"[:10]


def test_json_values_and_keys():
    scrub = Scrubber("ann@example.test")
    value = {"events": [{"data": {"email": "ann@example.test", "n": 1}}], "ann@example.test": None}
    assert scrub.json(value) == {"events": [{"data": {"email": ERASED, "n": 1}}], ERASED: None}


def test_an_empty_address_changes_nothing():
    assert Scrubber("  ").text("ann@example.test") == "ann@example.test"


def test_which_addresses_json_writes_as_they_are():
    assert Scrubber("ann@example.test").plain_in_json
    assert not Scrubber("анна@пример.рф").plain_in_json
    assert not Scrubber('"a b"@example.test').plain_in_json
