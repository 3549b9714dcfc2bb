from django.urls import path

from accounts import platform_views as views
from accounts.audit import views as audit_views

app_name = "platform"

urlpatterns = [
    path("", views.index, name="index"),
    path("audit/", audit_views.platform_log, name="audit_log"),
    path("users/<int:user_id>/block/", views.user_block, name="user_block"),
    path("users/<int:user_id>/unblock/", views.user_unblock, name="user_unblock"),
    path(
        "workspaces/<int:workspace_id>/sending/",
        views.workspace_sending,
        name="workspace_sending",
    ),
]
