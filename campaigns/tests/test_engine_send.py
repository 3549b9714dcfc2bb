"""The engine end to end against the real SMTP test server: start, send, record, finish."""

import pytest

from audience.models import Suppression
from campaigns.engine.step import Engine
from campaigns.models import Attempt, CampaignStatus, Delivery, DeliveryStatus
from campaigns.services import campaign_start
from campaigns.tests.conftest import make_campaign

pytestmark = pytest.mark.django_db


def run_until_idle(engine: Engine, rounds: int = 50) -> None:
    for _ in range(rounds):
        if not engine.step():
            return


def test_a_campaign_is_sent_personalised_recorded_and_completed(personas, smtp_sink):
    setup = make_campaign(personas.workspace, smtp_sink, n=5)
    result = campaign_start(campaign=setup.campaign)
    assert result.inserted == 5

    run_until_idle(Engine(batch_size=2))

    messages = smtp_sink.wait_for(5)
    by_rcpt = {m.rcpt_tos[0]: m for m in messages}
    assert set(by_rcpt) == {f"person{i}@example.test" for i in range(5)}
    first = by_rcpt["person0@example.test"]
    assert first.subject == "Hello Name0"
    assert "Dear Name0 of Acme" in first.text
    assert first.header("List-Unsubscribe-Post") == "List-Unsubscribe=One-Click"
    assert first.header("List-Unsubscribe").startswith("<https://mail.example.test/")
    delivery = Delivery.objects.get(email="person0@example.test")
    assert delivery.status == DeliveryStatus.SENT
    assert first.message_id == delivery.message_id
    assert delivery.account == setup.account
    assert Attempt.objects.filter(outcome="sent").count() == 5
    setup.campaign.refresh_from_db()
    assert setup.campaign.status == CampaignStatus.COMPLETED


def test_unknown_users_end_not_found_and_are_suppressed(personas, smtp_sink):
    emails = ["ok@example.test", "nouser+1@example.test"]
    setup = make_campaign(personas.workspace, smtp_sink, emails=emails)
    campaign_start(campaign=setup.campaign)
    run_until_idle(Engine())
    assert Delivery.objects.get(email="nouser+1@example.test").status == DeliveryStatus.NOT_FOUND
    attempt = Attempt.objects.get(email="nouser+1@example.test")
    assert (attempt.smtp_code, attempt.enhanced_code) == (550, "5.1.1")
    assert Suppression.objects.filter(
        workspace=personas.workspace, email="nouser+1@example.test"
    ).exists()
    assert [m.rcpt_tos for m in smtp_sink.messages] == [["ok@example.test"]]


def test_a_long_campaign_name_and_reply_still_suppress(personas, smtp_sink):
    # The suppression's source names the campaign and quotes the reply: cut to its column, or
    # PostgreSQL refuses the row and the whole batch's results with it.
    setup = make_campaign(personas.workspace, smtp_sink, emails=["nouser+2@example.test"])
    setup.campaign.name = "N" * 200
    setup.campaign.save(update_fields=["name"])
    smtp_sink.set_reply("nouser+2@example.test", "550 5.1.1 " + "no such user " * 20)
    campaign_start(campaign=setup.campaign)
    run_until_idle(Engine())
    assert Delivery.objects.get().status == DeliveryStatus.NOT_FOUND
    suppression = Suppression.objects.get(email="nouser+2@example.test")
    assert suppression.source.startswith("campaign “NNN")
    assert len(suppression.source) == 200


def test_policy_refusals_fail_without_suppressing(personas, smtp_sink):
    setup = make_campaign(personas.workspace, smtp_sink, emails=["policy+1@example.test"])
    campaign_start(campaign=setup.campaign)
    run_until_idle(Engine())
    assert Delivery.objects.get().status == DeliveryStatus.FAILED
    assert not Suppression.objects.exists()


def test_temporary_failures_are_deferred_then_retried_with_the_same_message_id(
    personas, smtp_sink, time_machine
):
    setup = make_campaign(personas.workspace, smtp_sink, emails=["later@example.test"])
    smtp_sink.set_reply("later@example.test", "451 4.3.0 Try again later", times=1)
    time_machine.move_to("2026-11-21 10:00:00Z", tick=False)
    campaign_start(campaign=setup.campaign)
    run_until_idle(Engine())
    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.DEFERRED
    assert delivery.attempts == 1
    first_id = delivery.message_id

    time_machine.move_to("2026-11-21 10:00:05Z", tick=False)
    run_until_idle(Engine())
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT
    assert delivery.attempts == 2
    assert smtp_sink.messages[0].message_id == first_id
    assert list(Attempt.objects.order_by("id").values_list("outcome", flat=True)) == [
        "temporary",
        "sent",
    ]


def test_an_address_suppressed_after_the_start_is_not_sent_to(personas, smtp_sink):
    setup = make_campaign(
        personas.workspace, smtp_sink, emails=["a@example.test", "b@example.test"]
    )
    campaign_start(campaign=setup.campaign)
    Suppression.objects.create(
        workspace=personas.workspace, email="b@example.test", reason="unsubscribed"
    )
    run_until_idle(Engine())
    assert Delivery.objects.get(email="b@example.test").status == DeliveryStatus.SUPPRESSED
    assert [m.rcpt_tos for m in smtp_sink.messages] == [["a@example.test"]]


def test_a_wrong_password_puts_the_account_in_error_and_keeps_the_attempts(personas, smtp_sink):
    smtp_sink.require_auth("user", "right")
    setup = make_campaign(
        personas.workspace, smtp_sink, emails=["x@example.test"], smtp_username="user",
        smtp_password="wrong",
    )  # fmt: skip
    campaign_start(campaign=setup.campaign)
    run_until_idle(Engine())
    setup.account.refresh_from_db()
    assert setup.account.status == "error"
    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.DEFERRED
    assert delivery.attempts == 0
    assert smtp_sink.messages == []


@pytest.mark.django_db(transaction=True)  # the pause is made on the sink's thread, meanwhile
def test_a_pause_stops_new_messages_within_the_batch_and_resume_continues(
    personas, smtp_sink, settings
):
    from campaigns.services import campaign_pause, campaign_resume

    settings.DELIVERY_STATUS_CHECK_SECONDS = 0  # looked at before each message
    setup = make_campaign(personas.workspace, smtp_sink, n=6)
    campaign_start(campaign=setup.campaign)
    sent_before_pause = 2
    engine = Engine(batch_size=6)

    def pause_at_the_second(message):
        # A person pauses while the server takes the second message, before it answers.
        if len(smtp_sink.messages) == sent_before_pause:
            campaign_pause(campaign=setup.campaign)

    smtp_sink.on_message(pause_at_the_second, times=sent_before_pause)
    engine.step()
    assert len(smtp_sink.messages) == sent_before_pause
    statuses = sorted(Delivery.objects.values_list("status", flat=True))
    assert statuses.count(DeliveryStatus.SENT) == 2
    assert statuses.count(DeliveryStatus.QUEUED) == 4
    assert not engine.step()  # paused: nothing is claimed
    assert len(smtp_sink.messages) == 2

    campaign_resume(campaign=setup.campaign)
    run_until_idle(engine)
    assert len(smtp_sink.messages) == 6
    assert len({m.rcpt_tos[0] for m in smtp_sink.messages}) == 6
    setup.campaign.refresh_from_db()
    assert setup.campaign.status == CampaignStatus.COMPLETED


def test_cancel_ends_what_is_left_as_cancelled(personas, smtp_sink):
    from campaigns.services import campaign_cancel

    setup = make_campaign(personas.workspace, smtp_sink, n=4)
    campaign_start(campaign=setup.campaign)
    assert campaign_cancel(campaign=setup.campaign) == 4
    run_until_idle(Engine())
    assert smtp_sink.messages == []
    assert set(Delivery.objects.values_list("status", flat=True)) == {DeliveryStatus.CANCELLED}


def test_many_policy_refusals_pause_the_campaign(personas, smtp_sink, settings):
    settings.CAMPAIGN_PAUSE_POLICY_REFUSALS = 3
    settings.CAMPAIGN_PAUSE_POLICY_SHARE = 0.2
    emails = [f"policy+{i}@example.test" for i in range(3)] + [
        f"fine{i}@example.test" for i in range(10)
    ]
    setup = make_campaign(personas.workspace, smtp_sink, emails=emails)
    campaign_start(campaign=setup.campaign)
    Engine(batch_size=20).step()  # 3 refusals of 13 attempts: past both thresholds
    setup.campaign.refresh_from_db()
    assert setup.campaign.status == CampaignStatus.PAUSED
    # Like any pause, it is written to the outbox the layers above read (webhooks hear of it).
    told = setup.campaign.status_changes.order_by("id").values_list("action", flat=True)
    assert list(told) == ["start", "pause"]
    assert "policy refusals" in setup.campaign.status_reason
    assert not Suppression.objects.exists()


def test_a_connection_dropped_after_the_data_is_retried_with_the_same_message_id(
    personas, smtp_sink, time_machine
):
    time_machine.move_to("2026-11-21 10:00:00Z", tick=False)
    setup = make_campaign(personas.workspace, smtp_sink, emails=["drop@example.test"])
    smtp_sink.drop_during_data(times=1)
    campaign_start(campaign=setup.campaign)
    run_until_idle(Engine())
    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.DEFERRED
    assert Attempt.objects.get().outcome == "ambiguous"
    time_machine.move_to("2026-11-21 10:01:00Z", tick=False)
    run_until_idle(Engine())
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT
    assert (
        smtp_sink.dropped[0].message_id == smtp_sink.messages[0].message_id == delivery.message_id
    )


def test_an_unknown_user_is_left_out_of_later_campaigns(personas, smtp_sink):
    """Promise 4: 550 5.1.1 once, then never tried again in any campaign of the workspace."""
    from campaigns.models import Campaign

    setup = make_campaign(
        personas.workspace, smtp_sink, emails=["ok@example.test", "nouser+9@example.test"]
    )
    campaign_start(campaign=setup.campaign)
    run_until_idle(Engine())
    later = Campaign.objects.create(
        workspace=personas.workspace, name="Later", template_id=setup.campaign.template_id
    )
    later.lists.set(setup.campaign.lists.all())
    later.accounts.set(setup.campaign.accounts.all())
    result = campaign_start(campaign=later)
    assert result.inserted == 1
    assert result.count.suppressed == 1
    run_until_idle(Engine())
    tried = [m.rcpt_tos[0] for m in smtp_sink.messages]
    assert tried.count("ok@example.test") == 2
    assert Attempt.objects.filter(email="nouser+9@example.test").count() == 1


def test_campaign_messages_carry_the_templates_attachments(personas, smtp_sink):
    from django.core.files.base import ContentFile

    from content.models import Template, TemplateAttachment

    setup = make_campaign(personas.workspace, smtp_sink, emails=["files@example.test"])
    template = Template.objects.get(workspace=personas.workspace)
    attachment = TemplateAttachment(
        template=template, filename="terms.txt", content_type="text/plain", size=14
    )
    attachment.file.save("terms.txt", ContentFile(b"the small print"), save=False)
    attachment.save()
    campaign_start(campaign=setup.campaign)
    run_until_idle(Engine())
    [message] = smtp_sink.wait_for(1)
    [(name, content_type, data)] = [
        (a.get_filename(), a.get_content_type(), a.get_payload(decode=True))
        for a in message.message.iter_attachments()
    ]
    assert (name, content_type, data) == ("terms.txt", "text/plain", b"the small print")


def test_a_window_campaign_sends_nothing_after_its_window_and_ends(
    personas, smtp_sink, time_machine
):
    from datetime import timedelta

    from django.utils import timezone

    from campaigns.models import ScheduleMode

    time_machine.move_to("2026-11-21 10:00:00Z", tick=False)
    setup = make_campaign(personas.workspace, smtp_sink, n=3)
    setup.campaign.schedule_mode = ScheduleMode.WINDOW
    setup.campaign.window_end = timezone.now() + timedelta(hours=1)
    setup.campaign.save()
    campaign_start(campaign=setup.campaign)
    time_machine.move_to("2026-11-21 11:00:01Z", tick=False)
    run_until_idle(Engine())
    assert smtp_sink.messages == []
    assert set(Delivery.objects.values_list("status", flat=True)) == {DeliveryStatus.EXPIRED}
    setup.campaign.refresh_from_db()
    assert setup.campaign.status == CampaignStatus.COMPLETED


def test_room_reserved_for_messages_not_sent_is_given_back(personas, smtp_sink):
    """A refused password: the account's whole share waits and its day's count is untouched."""
    smtp_sink.require_auth("user", "right")
    setup = make_campaign(
        personas.workspace, smtp_sink, n=5, smtp_username="user", smtp_password="wrong"
    )
    campaign_start(campaign=setup.campaign)
    Engine(batch_size=5).step()
    setup.account.refresh_from_db()
    assert setup.account.sent_today == 0
    assert set(Delivery.objects.values_list("status", flat=True)) == {DeliveryStatus.DEFERRED}
    assert set(Delivery.objects.values_list("attempts", flat=True)) == {0}


def test_a_batch_is_shared_between_accounts(personas, smtp_sink):
    from collections import Counter

    from sending.tests.factories import SendingAccountFactory

    setup = make_campaign(personas.workspace, smtp_sink, n=9)
    second = SendingAccountFactory.create(
        workspace=personas.workspace,
        smtp_host=smtp_sink.host,
        smtp_port=smtp_sink.port,
        daily_limit=10_000,
        min_interval_seconds=0,
    )
    setup.campaign.accounts.add(second)
    campaign_start(campaign=setup.campaign)
    run_until_idle(Engine(batch_size=9))
    senders = Counter(m.mail_from for m in smtp_sink.wait_for(9))
    assert sorted(senders.values()) == [4, 5]
