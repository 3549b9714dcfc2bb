"""`send_all`, the part of the transport interface the engine sends a batch through: every
transport has it (one at a time unless it pipelines), so the engine needs no isinstance."""

from __future__ import annotations

from collections.abc import Iterator

from sending.tests.factories import rendered
from sending.transports.base import OutgoingMessage, SendKind, SendResult, TransportBase


class Scripted(TransportBase):
    """Answers each message with the next of `results`."""

    def __init__(self, results: list[SendResult]) -> None:
        self.results = results
        self.sent: list[str] = []

    def send(self, message: OutgoingMessage) -> SendResult:
        self.sent.append(message.recipients[0])
        return self.results.pop(0)


def source(n: int) -> Iterator[tuple[int, OutgoingMessage]]:
    for i in range(n):
        yield i, OutgoingMessage.from_rendered(rendered(to=f"r{i}@example.test"))


def test_one_at_a_time_until_the_source_ends():
    transport = Scripted([SendResult(SendKind.SENT, "250 ok", 250)] * 3)
    results = list(transport.send_all(source(3), stop=lambda: False))
    assert [key for key, _ in results] == [0, 1, 2]
    assert transport.sent == ["r0@example.test", "r1@example.test", "r2@example.test"]


def test_stop_is_asked_before_each_message():
    transport = Scripted([SendResult(SendKind.SENT, "250 ok", 250)] * 5)
    asked = iter([False, False, True])
    results = list(transport.send_all(source(5), stop=lambda: next(asked)))
    assert [key for key, _ in results] == [0, 1]
    assert len(transport.sent) == 2


def test_nothing_more_is_taken_after_an_account_fault():
    transport = Scripted(
        [SendResult(SendKind.SENT, "250 ok", 250), SendResult(SendKind.AUTH, "535 refused", 535)]
    )
    messages = source(5)
    results = list(transport.send_all(messages, stop=lambda: False))
    assert [(key, r.kind if r else None) for key, r in results] == [
        (0, SendKind.SENT),
        (1, SendKind.AUTH),
    ]
    assert next(messages)[0] == 2  # the rest stays in the source, untaken
