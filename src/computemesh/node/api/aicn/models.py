"""AICN model calls: ``/chat/completion``, ``/image/gen``, their ``/proxy`` forms, ``/ipfs``.

``chat/completion`` and ``image/gen`` are served here when ``node_id`` is this node and
otherwise sent to that node over ``/libp2p-http``, where the same routes (peer-safe)
serve them. Images are stored on the serving node, so its ``/ipfs/<cid>`` has them.
"""

from fastapi import APIRouter, Request, Response

from computemesh.ids import PeerId
from computemesh.node.api.aicn.content import ContentStore, sniff
from computemesh.node.api.aicn.deps import own_url, target_node
from computemesh.node.api.aicn.envelope import AicnError, AicnRoute, ok
from computemesh.node.api.aicn.generations import chat_answer, image_format, newer_images
from computemesh.node.api.aicn.ipfs_upload import ipfs_api_base, upload
from computemesh.node.api.aicn.proxy import proxy
from computemesh.node.api.aicn.relay import call_peer, deadline, relay, stream
from computemesh.node.api.aicn.serving import (
    CHAT_FIELDS,
    IMAGE_FIELDS,
    call_model,
    chat_data,
    ensure_stream,
    model_body,
    read_answer,
    registered,
    store_images,
)
from computemesh.node.api.deps import State
from computemesh.node.api.state import NodeState
from computemesh.protocol.aicn import (
    ChatCompletionProxyRequest,
    ChatCompletionRequest,
    Code,
    ImageData,
    ImageGenProxyRequest,
    ImageGenRequest,
    ModelType,
)

CHAT_PATH = "/api/v0/chat/completion"
IMAGE_PATH = "/api/v0/image/gen"
peer_router = APIRouter(prefix="/api/v0", tags=["AICN"], route_class=AicnRoute)
router = APIRouter(prefix="/api/v0", tags=["AICN"], route_class=AicnRoute)
content_router = APIRouter(tags=["AICN"], route_class=AicnRoute)


def images(state: NodeState) -> ContentStore:
    return ContentStore(state.settings.data_dir / "ipfs")


@peer_router.post("/chat/completion")
async def chat_completion(body: ChatCompletionRequest, request: Request, state: State) -> Response:
    """A text model of ``node_id``: the AICN API's ``data``, or SSE ending ``data: [DONE]``."""
    until, target = deadline(state), target_node(state, request, body.node_id)
    if target is None:
        return await serve_chat(state, body, until)
    forwarded = await call_peer(state, target, CHAT_PATH, body.model_dump_json().encode(), until)
    return await relay(forwarded, until)


@router.post("/chat/completion/proxy")
async def chat_completion_proxy(body: ChatCompletionProxyRequest, state: State) -> Response:
    """A text model of a project on a node our routing picks, retrying others until one answers."""
    until = deadline(state)

    def for_peer(peer: PeerId) -> bytes:
        return ChatCompletionRequest(node_id=peer, **body.model_dump()).model_dump_json().encode()

    wanted = (body.project, body.model, ModelType.TEXT_TO_TEXT)
    return await proxy(
        state, wanted, lambda: serve_chat(state, body, until), CHAT_PATH, for_peer, until
    )


async def serve_chat(state: NodeState, body: ChatCompletionProxyRequest, until: float) -> Response:
    target = registered(state, body.project, body.model, ModelType.TEXT_TO_TEXT)
    forwarded = await call_model(state, target, model_body(body, CHAT_FIELDS), until)
    if body.stream:
        await ensure_stream(forwarded)
        return stream(forwarded, until)
    answer = await read_answer(forwarded)
    return chat_answer(answer, chat_data(answer))


@peer_router.post("/image/gen")
async def image_gen(body: ImageGenRequest, request: Request, state: State) -> Response:
    """A text-to-image model of ``node_id``; its images are stored (by CID) on that node."""
    _check_image_request(body)
    until, target = deadline(state), target_node(state, request, body.node_id)
    if target is None:
        return await serve_image(state, body, until)
    forwarded = await call_peer(state, target, IMAGE_PATH, body.model_dump_json().encode(), until)
    return await relay(forwarded, until)


@router.post("/image/gen/proxy")
async def image_gen_proxy(body: ImageGenProxyRequest, state: State) -> Response:
    """A text-to-image model of a project on a node our routing picks, retrying others."""
    _check_image_request(body)
    until = deadline(state)

    def for_peer(peer: PeerId) -> bytes:
        return ImageGenRequest(node_id=peer, **body.model_dump()).model_dump_json().encode()

    wanted = (body.project, body.model, ModelType.TEXT_TO_IMAGE)
    return await proxy(
        state, wanted, lambda: serve_image(state, body, until), IMAGE_PATH, for_peer, until
    )


def _check_image_request(body: ImageGenProxyRequest) -> None:
    """A bad ``ipfs_node`` or ``response_format`` is the caller's error (1001), not a
    reason to try other nodes."""
    image_format(body)
    if body.ipfs_node:
        ipfs_api_base(body.ipfs_node)


async def serve_image(state: NodeState, body: ImageGenProxyRequest, until: float) -> Response:
    target = registered(state, body.project, body.model, ModelType.TEXT_TO_IMAGE)
    here = own_url(state)
    elsewhere = body.ipfs_node.rstrip("/") if body.ipfs_node else here
    if elsewhere != here:
        ipfs_api_base(elsewhere)  # refuse a bad URL before the model works for nothing
    forwarded = await call_model(state, target, model_body(body, IMAGE_FIELDS), until)
    store = images(state)
    choices = await store_images(state, forwarded, store, until)
    wanted = image_format(body)
    if wanted is not None:  # the newer API's answer: the images themselves, or their URLs
        by_cid = [(c.cid, store.get(c.cid) or b"") for c in choices]
        return newer_images(wanted, by_cid, here)
    if elsewhere != here:
        # The caller runs its own IPFS node: the images go there, and so does it.
        stored = [(store.get(c.cid) or b"", c.image_name) for c in choices]
        choices = await upload(state, elsewhere, stored, until)
    return ok(ImageData(ipfs_node=elsewhere, choices=choices))


@content_router.get("/ipfs/{cid}", response_class=Response)
async def content(cid: str, state: State) -> Response:
    """Bytes stored on this node under their CID (CIDv1, raw, sha2-256)."""
    data = images(state).get(cid)
    if data is None:
        raise AicnError(Code.IPFS, f"this node stores no content {cid!r}", status=404)
    return Response(data, media_type=sniff(data)[1], headers={"cache-control": "immutable"})
