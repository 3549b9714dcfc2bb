from django.urls import path

from tracking import views

app_name = "tracking"

urlpatterns = [
    path("u/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("v/<str:token>/", views.view_in_browser, name="view"),
]
