"""Calling a model registered on this node: the serving end of chat and image calls.

The model's API gets an OpenAI body made of the fields AICN documents for the call and
nothing else (``model``, ``messages`` of ``role`` and ``content``, ``stream``; for
images ``model``, ``prompt``, ``n``, ``size``): these routes are peer-safe, and a peer
must not be able to put whatever it likes into a request to a local API. Its answer
becomes the AICN API's ``data``; a model that answers an error (HTTP status or AICN's
``code``) is code 1006. Images the model returns (PNG bytes, or
OpenAI's ``b64_json``/``url``) are stored under their CID and named in the answer.
"""

import base64
import binascii
import json
import time
from typing import Any

from pydantic import BaseModel, ValidationError

from computemesh.node.api.aicn.content import ContentStore
from computemesh.node.api.aicn.envelope import AicnError
from computemesh.node.api.state import NodeState
from computemesh.protocol.aicn import ChatData, Code, ImageChoice, ModelType
from computemesh.registry.projects import ProjectModel
from computemesh.routing.errors import DeadlineExceeded, Unreachable
from computemesh.routing.forwarder import Forwarded, Outbound, forward

# pydantic ``include`` specs: the documented fields, messages reduced to theirs.
CHAT_FIELDS: dict[str, Any] = {
    "model": True,
    "messages": {"__all__": {"role", "content"}},
    "stream": True,
}
IMAGE_FIELDS: dict[str, Any] = {"model": True, "prompt": True, "n": True, "size": True}
JSON_HEADERS = [("content-type", "application/json")]
MAX_IMAGE_BYTES = 64 * 1024 * 1024


def registered(state: NodeState, project: str, model: str, kind: ModelType) -> ProjectModel:
    found = state.projects.find(project, model)
    if found is None:
        raise AicnError(
            Code.NO_PROVIDER, f"this node runs no model {model!r} of project {project!r}"
        )
    if found.type != kind:
        raise AicnError(
            Code.UNSUPPORTED, f"model {model!r} is of type {found.type}, not {int(kind)}"
        )
    return found


def model_body(request: BaseModel, fields: dict[str, Any]) -> bytes:
    """The body for the model's API: only ``fields`` of the AICN request."""
    return json.dumps(request.model_dump(include=fields, mode="json")).encode()


async def call_model(
    state: NodeState, target: ProjectModel, body: bytes, until: float
) -> Forwarded:
    """POST to the model's API; an unreachable model is a model error (1006)."""
    outbound = Outbound("POST", "/", b"", JSON_HEADERS, body)
    state.load.started()
    try:
        forwarded = await forward(state.forwarding, target.api, outbound, state.timeouts, until)
    except Unreachable as error:
        state.load.finished()
        if isinstance(error.__cause__, TimeoutError):
            raise DeadlineExceeded(str(error)) from error
        raise AicnError(Code.MODEL, f"the model API cannot be reached: {error}") from error
    except BaseException:
        state.load.finished()
        raise
    forwarded.on_close(state.load.finished)
    return forwarded


async def read_answer(forwarded: Forwarded) -> dict[str, Any]:
    """The model's JSON answer; its HTTP or AICN error becomes 1006."""
    try:
        raw = await forwarded.read_all()
    finally:
        await forwarded.aclose()
    try:
        answer = json.loads(raw)
    except ValueError:
        answer = None
    if forwarded.status >= 400 or not isinstance(answer, dict):
        raise AicnError(Code.MODEL, f"the model answered HTTP {forwarded.status}: {_excerpt(raw)}")
    if answer.get("code") not in (None, 0):
        raise AicnError(Code.MODEL, f"the model failed: {answer.get('message') or answer['code']}")
    return answer


async def ensure_stream(forwarded: Forwarded) -> None:
    """A stream may only be relayed if the model started one; else its error is 1006."""
    if forwarded.status < 400 and forwarded.content_type.startswith("text/event-stream"):
        return
    await read_answer(forwarded)  # raises the model's error if it gave one
    raise AicnError(Code.STREAM, "the model answered without a stream to stream: true")


def chat_data(answer: dict[str, Any]) -> ChatData:
    try:
        return ChatData(
            created=int(answer.get("created") or time.time()),
            choices=answer["choices"],
            usage=answer.get("usage"),
        )
    except (KeyError, TypeError, ValueError, ValidationError) as error:
        raise AicnError(Code.MODEL, f"the model's answer has no choices: {error}") from error


async def store_images(
    state: NodeState, forwarded: Forwarded, store: ContentStore, until: float
) -> list[ImageChoice]:
    """Every image the model returned, stored under its CID."""
    if forwarded.content_type.startswith("image/"):
        try:
            images = [await forwarded.read_all()]
        finally:
            await forwarded.aclose()
    else:
        images = await _json_images(state, await read_answer(forwarded), until)
    if not images:
        raise AicnError(Code.MODEL, "the model returned no image")
    choices = []
    for image in images:
        cid, name = store.put(image)
        choices.append(ImageChoice(cid=cid, image_name=name))
    return choices


async def _json_images(state: NodeState, answer: dict[str, Any], until: float) -> list[bytes]:
    items = answer.get("data")
    if not isinstance(items, list):
        raise AicnError(Code.MODEL, "the model's answer has no data list of images")
    return [await _image(state, item, until) for item in items]


async def _image(state: NodeState, item: object, until: float) -> bytes:
    if isinstance(item, dict) and isinstance(item.get("b64_json"), str):
        try:
            return base64.b64decode(item["b64_json"], validate=True)
        except (binascii.Error, ValueError) as error:
            raise AicnError(Code.MODEL, "the model returned invalid base64 image data") from error
    if isinstance(item, dict) and str(item.get("url", "")).startswith(("http://", "https://")):
        return await _download(state, item["url"], until)
    raise AicnError(Code.MODEL, "an image entry has neither b64_json nor an http url")


async def _download(state: NodeState, url: str, until: float) -> bytes:
    """Fetch an image the model left at a URL (it runs on this machine, so it is trusted)."""
    outbound = Outbound("GET", "/", b"", [])
    try:
        forwarded = await forward(state.forwarding, url, outbound, state.timeouts, until)
    except Unreachable as error:
        raise AicnError(Code.IPFS, f"cannot download the image at {url}: {error}") from error
    try:
        data = await forwarded.read_all()
    finally:
        await forwarded.aclose()
    if forwarded.status != 200 or len(data) > MAX_IMAGE_BYTES:
        raise AicnError(Code.IPFS, f"cannot download the image at {url}: HTTP {forwarded.status}")
    return data


def _excerpt(raw: bytes, limit: int = 200) -> str:
    return raw[:limit].decode("utf-8", "replace")
