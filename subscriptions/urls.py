from django.urls import path

from subscriptions import views

app_name = "subscriptions"

urlpatterns = [
    path("", views.index, name="index"),
    path("new/", views.create, name="create"),
    path("<int:form_id>/", views.detail, name="detail"),
    path("<int:form_id>/delete/", views.delete, name="delete"),
]
