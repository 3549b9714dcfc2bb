from django.urls import path

from campaigns import calendar_views, views

app_name = "campaigns"

urlpatterns = [
    path("campaigns/", views.index, name="index"),
    path("campaigns/new/", views.campaign_create, name="create"),
    # djangoMailer's address for the same page.
    path("campaigns/create/", views.campaign_create, name="create_seed"),
    path("campaigns/calendar/", calendar_views.calendar, name="calendar"),
    path(
        "campaigns/<int:campaign_id>/reschedule/",
        calendar_views.campaign_reschedule_view,
        name="reschedule",
    ),
    path("campaigns/audience/", views.audience_preview, name="audience_preview"),
    path("campaigns/<int:campaign_id>/", views.campaign_detail, name="detail"),
    path("campaigns/<int:campaign_id>/edit/", views.campaign_edit, name="edit"),
    path("campaigns/<int:campaign_id>/progress/", views.campaign_progress, name="progress"),
    path("campaigns/<int:campaign_id>/delete/", views.campaign_delete, name="delete"),
    path("campaigns/<int:campaign_id>/archive/", views.campaign_archive, name="archive"),
    path(
        "campaigns/<int:campaign_id>/deliveries.csv",
        views.campaign_deliveries_csv,
        name="deliveries_csv",
    ),
    *(
        path(
            f"campaigns/<int:campaign_id>/{action}/",
            views.campaign_action,
            {"action": action},
            name=action,
        )
        for action in views.ACTIONS
    ),
    path("logs/", views.logs, name="logs"),
    # djangoMailer's queue of single e-mails, under its own addresses.
    path("emails/", views.emails, name="emails"),
    path("emails/create/", views.email_create, name="email_create"),
    path(
        "email_send_candidate/<int:delivery_id>/send_now/",
        views.delivery_send_now,
        name="delivery_send_now",
    ),
]
