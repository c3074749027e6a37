"""The AIComputingNode surface under ``/api/v0``, on the mesh's core.

- ``envelope``: the ``{code, message, data}`` answer, the AICN API's codes, ``AicnRoute``
- ``info``: ``/id``, ``/peers``, ``/peer``, ``/host/info``, ``/swarm/*``, ``/pubsub/peers``
- ``projects``: ``/ai/project/*`` registrations and ``/ai/projects/*`` lists
- ``newer_lists``: the lists' GET forms of AICN v0.1.8+; ``generations``: its answers
- ``models``: ``/chat/completion``, ``/image/gen`` (+ ``/proxy``), ``/ipfs/<cid>``
- ``serving``: calling a model registered on this node; ``content``: the CID store
- ``relay``: calls to a peer over ``/libp2p-http``; ``proxy``: routing with retry

``peer_routers`` are peer-safe: the mesh reaches them over ``/libp2p-http``, and they
serve only this node's own answers.
"""

from fastapi import APIRouter

from computemesh.node.api.aicn import info, models, newer_lists, projects

peer_routers: list[APIRouter] = [info.peer_router, models.peer_router, models.content_router]
routers: list[APIRouter] = [
    *peer_routers,
    info.router,
    projects.router,
    newer_lists.router,
    models.router,
]
