"""What AICN v0.1.8 and later answer on success, beside the AICN API's envelope.

Since v0.1.8 AICN puts a call's fields at the top level (``res.choices[0]``,
``res.peer_id``) and clients written for it read them there; the AICN API's clients read
``data``. Chat answers carry both. ``image/gen`` cannot: both generations call a field
``data``, of two shapes. There the request decides, as the method does for
``ai/projects/peers``: a body with ``response_format`` (``url`` or ``b64_json``, which
only the newer API has) gets the newer ``{created, data: [{url | b64_json}]}``.
"""

import base64
import time
from typing import Any

from fastapi import Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from computemesh.node.api.aicn.envelope import AicnError, ok
from computemesh.protocol.aicn import ChatData, Code

IMAGE_FORMATS = ("url", "b64_json")
CHAT_IDENTITY = ("id", "object")


def chat_answer(answer: dict[str, Any], data: ChatData) -> Response:
    """The AICN API's ``data`` and, at the top level, the model's ``id``/``object`` and ``data``."""
    newer = {key: answer[key] for key in CHAT_IDENTITY if isinstance(answer.get(key), str)}
    return ok(data, top={**newer, **data.model_dump()})


def image_format(body: BaseModel) -> str | None:
    """The newer API's ``response_format``, or None for a request of the AICN API's form."""
    extra = body.model_extra or {}
    wanted = extra.get("response_format")
    if wanted is None or wanted == "":
        return None
    if wanted not in IMAGE_FORMATS:
        raise AicnError(Code.PARAMETER, f"response_format must be url or b64_json, got {wanted!r}")
    return str(wanted)


def newer_images(image_format: str, images: list[tuple[str, bytes]], origin: str) -> Response:
    """``{code, message, created, data: [...]}``: each ``(cid, bytes)`` as a URL on this
    node's ``/ipfs/<cid>`` or as base64."""
    if image_format == "url":
        items = [{"url": f"{origin}/ipfs/{cid}"} for cid, _ in images]
    else:
        items = [{"b64_json": base64.b64encode(data).decode()} for _, data in images]
    return JSONResponse({"code": 0, "message": "ok", "created": int(time.time()), "data": items})
