"""Bounded input: a request over a limit is refused before it costs anything, naming the limit.

Sizes answer 413; counts and lengths 422. Each limit is a setting (docs/security.md, "Limits").
"""

from __future__ import annotations

from typing import Any

from fastapi import HTTPException
from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.middleware.body_limit import RequestBodyLimitMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from llamapg.settings import Settings


def body_limit(content_type: str, settings: Settings) -> tuple[int, str]:
    """The body limit for a request of `content_type`, and the setting it comes from."""
    if content_type.startswith("multipart/form-data"):
        return settings.max_upload_request_bytes, "LLAMAPG_MAX_UPLOAD_REQUEST_BYTES"
    return settings.max_body_bytes, "LLAMAPG_MAX_BODY_BYTES"


class BodyLimit:
    """At most `max_body_bytes` of request body, `max_upload_request_bytes` for multipart uploads.

    A declared Content-Length over the limit is answered at once, naming the limit. The body is
    also counted as it arrives, by Starlette's RequestBodyLimitMiddleware, so that a client that
    declares no length (chunked) is cut off at the limit too (its 413 says "Content Too Large")."""

    def __init__(self, app: ASGIApp, *, settings: Settings) -> None:
        self.settings = settings
        self.limited = {limit: RequestBodyLimitMiddleware(app, max_body_size=limit)
                        for limit in (settings.max_body_bytes, settings.max_upload_request_bytes)}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = Headers(scope=scope) if scope["type"] == "http" else Headers()
        limit, setting = body_limit(headers.get("content-type", ""), self.settings)
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            await JSONResponse(status_code=413, content={"detail": too_large(limit, setting)})(scope, receive, send)
            return
        await self.limited[limit](scope, receive, send)


def too_large(limit: int, setting: str) -> str:
    return f"the request body is larger than {limit:,} bytes, the limit ({setting})"


def question_too_long(question: str, settings: Settings) -> str | None:
    """Why the question is over its limit, or None."""
    if len(question) <= settings.max_question_chars:
        return None
    return (f"the question is {len(question):,} characters long; at most {settings.max_question_chars:,} "
            "are allowed (LLAMAPG_MAX_QUESTION_CHARS)")


def check_question(question: str, settings: Settings) -> None:
    if problem := question_too_long(question, settings):
        raise HTTPException(422, problem)


def check_filters(filters: dict[str, Any] | None, settings: Settings) -> None:
    if not filters:
        return
    if len(filters) > settings.max_filter_keys:
        raise HTTPException(422, f"{len(filters):,} filter keys; at most {settings.max_filter_keys} are allowed "
                                 "(LLAMAPG_MAX_FILTER_KEYS)")
    for key, condition in filters.items():
        values = condition.get("in") if isinstance(condition, dict) else None
        if isinstance(values, list) and len(values) > settings.max_filter_values:
            raise HTTPException(422, f"filter {key!r}: {len(values):,} values in \"in\"; at most "
                                     f"{settings.max_filter_values:,} are allowed (LLAMAPG_MAX_FILTER_VALUES)")
