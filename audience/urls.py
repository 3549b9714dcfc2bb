from django.urls import path

from audience import views

app_name = "audience"

urlpatterns = [
    path("", views.index, name="index"),
]
