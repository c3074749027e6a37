"""Reads every request body as JSON, whatever its ``Content-Type`` says (multipart aside).

The systems computemesh replaces parse their JSON bodies without looking at the label
(Go's ``json.Decoder``, gin's ``BindJSON``), so their users' clients never had to set
one: ``curl -d`` sends ``application/x-www-form-urlencoded``, ``requests.post(data=...)``
and many Go clients send ``text/plain`` or nothing. FastAPI parses a body as JSON only
when it is labelled JSON, and hands the route raw bytes otherwise (a 422, or AICN's
1001). No route of the node or the gateway takes a urlencoded form, so here the label
of such a request is made ``application/json`` before the app sees it; ``multipart/*``
(uploads) keeps its own. A body that is not JSON then gets the surface's own
"malformed JSON" answer.

The node's forwarding lane sits in front of this middleware (``node.app``): relayed
requests keep the label their client gave them.
"""

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Message, Receive, Send], Awaitable[None]]

JSON = b"application/json"
BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class JsonBodies:
    """ASGI middleware: requests with a body reach ``app`` labelled JSON unless multipart."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Message, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in BODY_METHODS:
            scope = relabelled(scope)
        await self.app(scope, receive, send)


def relabelled(scope: Message) -> Message:
    """``scope`` with its content type made JSON, or ``scope`` itself if it keeps its own."""
    headers: list[tuple[bytes, bytes]] = list(scope["headers"])
    labels = [value for name, value in headers if name == b"content-type"]
    if labels and keeps_label(labels[0]):
        return scope
    others = [(name, value) for name, value in headers if name != b"content-type"]
    return {**scope, "headers": [*others, (b"content-type", JSON)]}


def keeps_label(content_type: bytes) -> bool:
    """Multipart bodies and JSON (``application/json``, ``application/*+json``) stay as sent."""
    media = content_type.split(b";", 1)[0].strip().lower()
    kind, _, subtype = media.partition(b"/")
    return kind == b"multipart" or (kind == b"application" and subtype.split(b"+")[-1] == b"json")
