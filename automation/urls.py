from django.urls import path

from automation import sequence_views as seq
from automation import views

app_name = "automation"

urlpatterns = [
    path("campaigns/<int:campaign_id>/ab-test/", views.ab_test_report, name="ab_test"),
    path(
        "campaigns/<int:campaign_id>/ab-test/choose/", views.ab_test_choose, name="ab_test_choose"
    ),
    path("sequences/", seq.sequence_index, name="sequences"),
    path("sequences/new/", seq.sequence_create_view, name="sequence_create"),
    path("sequences/<int:sequence_id>/", seq.sequence_detail, name="sequence"),
    path("sequences/<int:sequence_id>/edit/", seq.sequence_edit, name="sequence_edit"),
    path(
        "sequences/<int:sequence_id>/activate/",
        seq.sequence_activate_view,
        name="sequence_activate",
    ),
    path("sequences/<int:sequence_id>/pause/", seq.sequence_pause_view, name="sequence_pause"),
    path("sequences/<int:sequence_id>/delete/", seq.sequence_delete_view, name="sequence_delete"),
    path("sequences/<int:sequence_id>/enrol/", seq.sequence_enrol_view, name="sequence_enrol"),
    path("sequences/<int:sequence_id>/steps/new/", seq.step_create_view, name="step_create"),
    path("sequences/<int:sequence_id>/steps/<int:step_id>/", seq.step_edit, name="step_edit"),
    path(
        "sequences/<int:sequence_id>/steps/<int:step_id>/remove/",
        seq.step_remove_view,
        name="step_remove",
    ),
    path(
        "sequences/<int:sequence_id>/steps/<int:step_id>/move/",
        seq.step_move_view,
        name="step_move",
    ),
]
