from django.urls import path

from campaigns.models import ResendKind
from tracking import mailbox_views, report_views, resend_views, views
from tracking.esp import views as esp_views

app_name = "tracking"

urlpatterns = [
    path("u/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("v/<str:token>/", views.view_in_browser, name="view"),
    path("o/<str:token>/", views.open_pixel, name="open"),
    path("c/<str:token>/<int:index>", views.click, name="click"),
    # The links of test sends: they show what the real ones do, and change nothing.
    path("t/u/<str:token>/", views.unsubscribe_test_link, name="test_unsubscribe"),
    path("t/v/<str:token>/", views.view_test_link, name="test_view"),
    # E-mail services' events: one URL per account, its secret in the path.
    path(
        "hooks/esp/<str:esp>/<int:account_id>/<str:esp_token>/",
        esp_views.webhook,
        name="esp_webhook",
    ),
    path(
        "sending-accounts/<int:account_id>/events-webhook/",
        esp_views.webhook_panel,
        name="esp_webhook_panel",
    ),
    path(
        "sending-accounts/<int:account_id>/events-webhook/rotate/",
        esp_views.webhook_rotate,
        name="esp_webhook_rotate",
    ),
    path(
        "sending-accounts/<int:account_id>/events-webhook/key/",
        esp_views.webhook_key,
        name="esp_webhook_key",
    ),
    # What users see of what came back: served here, linked from campaigns and audience.
    path(
        "campaigns/<int:campaign_id>/report/",
        report_views.campaign_report,
        name="campaign_report",
    ),
    # One route per kind, so that every part of the path but the campaign is fixed.
    *(
        path(
            f"campaigns/<int:campaign_id>/resend/{kind}/",
            resend_views.campaign_resend,
            {"kind": str(kind)},
            name=f"campaign_resend_{kind}",
        )
        for kind in ResendKind
    ),
    path(
        "campaigns/<int:campaign_id>/report/<slug:part>.csv",
        report_views.campaign_report_csv,
        name="campaign_report_csv",
    ),
    path(
        "campaigns/<int:campaign_id>/replies/",
        report_views.campaign_replies,
        name="campaign_replies",
    ),
    path(
        "recipients/<int:recipient_id>/activity/",
        report_views.recipient_timeline,
        name="recipient_timeline",
    ),
    path("deliverability/", report_views.deliverability, name="deliverability"),
    path("settings/feedback/", mailbox_views.mailbox_index, name="mailbox_index"),
    path("settings/feedback/new/", mailbox_views.mailbox_create, name="mailbox_create"),
    path(
        "settings/feedback/oauth/callback/",
        mailbox_views.mailbox_oauth_callback,
        name="mailbox_oauth_callback",
    ),
    path(
        "settings/feedback/<int:mailbox_id>/oauth/",
        mailbox_views.mailbox_oauth_start,
        name="mailbox_oauth_start",
    ),
    path(
        "settings/feedback/<int:mailbox_id>/", mailbox_views.mailbox_detail, name="mailbox_detail"
    ),
    path(
        "settings/feedback/<int:mailbox_id>/edit/", mailbox_views.mailbox_edit, name="mailbox_edit"
    ),
    path(
        "settings/feedback/<int:mailbox_id>/delete/",
        mailbox_views.mailbox_delete,
        name="mailbox_delete",
    ),
    path(
        "settings/feedback/<int:mailbox_id>/test/", mailbox_views.mailbox_test, name="mailbox_test"
    ),
    path(
        "settings/feedback/<int:mailbox_id>/messages/",
        mailbox_views.mailbox_messages,
        name="mailbox_messages",
    ),
    path(
        "settings/feedback/<int:mailbox_id>/messages/purge/",
        mailbox_views.mailbox_messages_purge,
        name="mailbox_messages_purge",
    ),
]
