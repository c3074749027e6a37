"""Where ``/v1/_service/{service}`` sends a request on this node.

Most services have one upstream URL. A service whose identity-group entries have URLs
of their own (the local engine: one llama.cpp server per model) is chosen by the
request's fields, so the body is read first; Starlette keeps it and replays it to the
forwarder.
"""

from fastapi import Request

from computemesh.node.api.state import NodeState
from computemesh.routing.candidates import request_fields


async def local_service_url(state: NodeState, service: str, request: Request) -> str | None:
    """The base URL of the local upstream for this request, or None if no such service."""
    found = state.own_service(service)
    if found is None:
        return None
    if not found.entry_urls:
        return found.url  # nothing to choose: the body keeps streaming through
    body = await request.body()
    return found.url_for(request_fields(body, request.scope.get("query_string", b"")))
