from django.urls import path

from sending import views

app_name = "sending"

urlpatterns = [
    path("", views.index, name="index"),
    path("new/", views.account_create, name="account_create"),
    path("<int:account_id>/", views.account_detail, name="account_detail"),
    path("<int:account_id>/edit/", views.account_edit, name="account_edit"),
    path("<int:account_id>/delete/", views.account_delete, name="account_delete"),
    path("<int:account_id>/status/", views.account_status, name="account_status"),
    path("<int:account_id>/test/", views.account_test, name="account_test"),
    path(
        "<int:account_id>/warmup/resume/",
        views.account_warmup_resume,
        name="account_warmup_resume",
    ),
    path("<int:account_id>/oauth/", views.account_oauth_start, name="account_oauth_start"),
    path("oauth/callback/", views.oauth_callback, name="oauth_callback"),
    path("captured/", views.captured_list, name="captured_list"),
    path("captured/<int:captured_id>/", views.captured_detail, name="captured_detail"),
    path("captured/<int:captured_id>/html/", views.captured_html, name="captured_html"),
    path("dkim/", views.dkim_list, name="dkim_list"),
    path("test-send/<int:template_id>/", views.template_test_send, name="template_test_send"),
    path("dkim/new/", views.dkim_create, name="dkim_create"),
    path("dkim/<int:dkim_key_id>/", views.dkim_detail, name="dkim_detail"),
    path("dkim/<int:dkim_key_id>/delete/", views.dkim_delete, name="dkim_delete"),
]
