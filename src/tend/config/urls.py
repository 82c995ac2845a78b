"""URL map: the admin, the JSON API and the web pages."""

from django.contrib import admin
from django.urls import include, path

from tend.config.api import api

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    path("webhooks/", include("tend.billing.urls")),
    path("", include("tend.usage.urls")),
    path("", include("tend.web.urls")),
]
