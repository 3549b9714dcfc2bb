"""Public addresses of sign-up forms, mounted under /s/ (namespace "subscribe")."""

from django.urls import path

from subscriptions import public

app_name = "subscribe"

urlpatterns = [
    path("confirm/<str:token>/", public.confirm, name="confirm"),
    path("<str:form_key>/", public.hosted, name="form"),
    path("<str:form_key>/challenge/", public.challenge, name="challenge"),
    path("<str:form_key>/style.css", public.style, name="style"),
]
