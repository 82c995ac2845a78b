"""The event API as Django views, for Django's own servers and test client; `tend serve`
answers the same paths earlier, in `tend.usage.asgi_ingest`. Both accept through
`tend.usage.accept` and answer 200 only once the request's inbox entry is committed."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

import orjson
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from tend.config.settings import get_settings
from tend.usage import accept
from tend.usage.accept import RETRY_AFTER_SECONDS, Answer, Refused, RequestHead
from tend.usage.group_commit import inbox_writer, write_and_wait
from tend.usage.keys import authenticate

logger = logging.getLogger(__name__)

Handler = Callable[..., Answer]


def json_response(status: int, body: dict[str, Any]) -> HttpResponse:
    """A JSON response serialised with orjson."""
    return HttpResponse(orjson.dumps(body), status=status, content_type="application/json")


def _error(refused: Refused, posthog_style: bool = False) -> HttpResponse:
    body = {"code": refused.code, "message": refused.message}
    if posthog_style:
        body["detail"] = refused.message
    response = json_response(refused.status, body)
    if refused.status in (429, 503):
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def _head(request: HttpRequest) -> RequestHead:
    return RequestHead(
        path=request.path,
        content_type=request.content_type or "",
        content_length=request.headers.get("Content-Length"),
        content_encoding=request.headers.get("Content-Encoding") or "",
        authorization=request.headers.get("Authorization", ""),
        compression=request.GET.get("compression", ""),
    )


def _endpoint(handler: Handler, name: str, posthog_style: bool = False) -> Callable[..., Any]:
    """A view: POST only, CSRF-exempt, back-pressure, refusals and outages as JSON errors."""

    @csrf_exempt
    def view(request: HttpRequest, **kwargs: str) -> HttpResponse:
        try:
            if request.method != "POST":
                raise Refused(405, "method_not_allowed", "Use POST.")
            accept.check_capacity(inbox_writer().depth_messages())
            data = request.read(get_settings().ingest_max_batch_bytes + 1)
            bound = functools.partial(handler, **kwargs) if kwargs else handler
            answer = bound(_head(request), data, authenticate)
            if answer.entry is not None:
                write_and_wait(answer.entry)
            return json_response(answer.status, answer.body)
        except Refused as refused:
            return _error(refused, posthog_style)
        except (OperationalError, InterfaceError) as error:
            logger.warning("Event API: database unavailable: %s", error)
            return _error(accept.unavailable(), posthog_style)
        except Exception as error:  # the inbox write failed: never a 200
            logger.warning("Event API: inbox unavailable: %r", error)
            return _error(accept.unavailable(), posthog_style)

    view.__name__ = name
    return view


segment_batch = _endpoint(accept.segment_batch, "segment_batch")


def _webhook(
    head: RequestHead, data: bytes, auth: accept.Authenticate, write_key: str = ""
) -> Answer:
    return accept.webhook(write_key, head, data, auth)


webhook = _endpoint(_webhook, "webhook")
posthog_capture = _endpoint(accept.posthog_capture, "posthog_capture", posthog_style=True)


def segment_single(kind: str) -> Callable[..., Any]:
    """POST /v1/<kind>: one message whose type is the endpoint's."""
    return _endpoint(functools.partial(accept.segment_single, kind), f"segment_{kind}")
