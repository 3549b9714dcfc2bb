from django.urls import path

from campaigns import views

app_name = "campaigns"

urlpatterns = [
    path("campaigns/", views.index, name="index"),
    path("logs/", views.logs, name="logs"),
]
