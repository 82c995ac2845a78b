"""Routes of the event API: Segment's paths under /v1/, PostHog's capture paths at the root."""

from django.urls import path, re_path

from tend.usage import views

SEGMENT_TYPES = ("track", "identify", "group", "page", "screen", "alias")

urlpatterns = [
    re_path(r"^v1/(?:batch|import)/?$", views.segment_batch, name="ingest-batch"),
    *(
        re_path(rf"^v1/{kind}/?$", views.segment_single(kind), name=f"ingest-{kind}")
        for kind in SEGMENT_TYPES
    ),
    path("v1/webhook/<str:write_key>", views.webhook, name="ingest-webhook"),
    re_path(r"^(?:batch|capture|e)/?$", views.posthog_capture, name="ingest-posthog"),
]
