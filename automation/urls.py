from django.urls import path

from automation import views

app_name = "automation"

urlpatterns = [
    path("campaigns/<int:campaign_id>/ab-test/", views.ab_test_report, name="ab_test"),
    path(
        "campaigns/<int:campaign_id>/ab-test/choose/", views.ab_test_choose, name="ab_test_choose"
    ),
]
