from django.urls import path

from accounts import security_views, views
from accounts.sso import views as sso_views

app_name = "accounts"

# Signing up and in, and the user's own account and workspaces.
urlpatterns = [
    path("accounts/signup/", views.signup, name="signup"),
    path("accounts/signup/done/", views.signup_done, name="signup_done"),
    path("accounts/verify/<str:token>/", views.verify_email, name="verify_email"),
    path("accounts/verify-again/", views.resend_verification, name="resend_verification"),
    path("accounts/login/", views.LoginView.as_view(), name="login"),
    path("accounts/login/code/", security_views.login_code, name="login_code"),
    path("accounts/sso/start/", sso_views.start, name="sso_start"),
    path("accounts/sso/callback/", sso_views.callback, name="sso_callback"),
    path("accounts/logout/", views.LogoutView.as_view(), name="logout"),
    path("accounts/password/reset/", views.PasswordResetView.as_view(), name="password_reset"),
    path(
        "accounts/password/reset/sent/",
        views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "accounts/password/reset/<uidb64>/<token>/",
        views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "accounts/password/reset/complete/",
        views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("accounts/password/change/", views.PasswordChangeView.as_view(), name="password_change"),
    path("accounts/profile/", views.profile, name="profile"),
    path("accounts/language/", views.language_switch, name="language"),
    path("accounts/two-factor/", security_views.two_factor_page, name="two_factor"),
    path("accounts/two-factor/start/", security_views.two_factor_start, name="two_factor_start"),
    path("accounts/two-factor/setup/", security_views.two_factor_setup, name="two_factor_setup"),
    path(
        "accounts/two-factor/recovery-codes/",
        security_views.two_factor_recovery_codes,
        name="two_factor_recovery_codes",
    ),
    path(
        "accounts/two-factor/disable/", security_views.two_factor_disable, name="two_factor_disable"
    ),
    path("accounts/sessions/<int:session_id>/end/", security_views.session_end, name="session_end"),
    path(
        "accounts/sessions/end-others/",
        security_views.sessions_end_others,
        name="sessions_end_others",
    ),
    path("accounts/workspaces/", views.workspaces, name="workspaces"),
    path(
        "accounts/workspaces/<int:workspace_id>/switch/",
        views.workspace_switch,
        name="workspace_switch",
    ),
    path("accounts/invitations/<str:token>/", views.invitation_accept, name="invitation_accept"),
    path(
        "accounts/my-invitations/<int:invitation_id>/",
        views.my_invitation_respond,
        name="my_invitation_respond",
    ),
    # The current workspace's settings, members and invitations.
    path("settings/", views.settings_page, name="settings"),
    path("settings/workspace/", views.workspace_update, name="workspace_update"),
    path("settings/archive/rotate/", views.archive_key_rotate, name="archive_key_rotate"),
    path("settings/leave/", views.workspace_leave, name="workspace_leave"),
    path("settings/members/invite/", views.invite, name="invite"),
    path("settings/members/<int:membership_id>/role/", views.member_role, name="member_role"),
    path("settings/members/<int:membership_id>/remove/", views.member_remove, name="member_remove"),
    path(
        "settings/invitations/<int:invitation_id>/revoke/",
        views.invitation_revoke,
        name="invitation_revoke",
    ),
]
