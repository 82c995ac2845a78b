"""Webhook routes of the billing domain, mounted under `webhooks/`."""

from django.urls import path

from tend.billing import views

app_name = "billing"
urlpatterns = [
    path("stripe", views.stripe_webhook, name="stripe-webhook"),
]
