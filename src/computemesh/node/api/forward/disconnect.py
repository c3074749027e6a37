"""Stop waiting on a provider when the client that asked has gone away."""

from collections.abc import Coroutine
from typing import Any, TypeVar

import anyio
from fastapi import Request

from computemesh.p2phttp import CANCELS_ON_DISCONNECT

T = TypeVar("T")


async def cancel_on_disconnect(request: Request, work: Coroutine[Any, Any, T]) -> T | None:
    """Run ``work``; None if the client disconnected first (``work`` is then cancelled).

    Only for requests whose body was already read: the watcher consumes ``receive``.
    An error from ``work`` is raised as itself, not wrapped in an exception group.
    Under a server that cancels the app when its caller leaves (the node's own),
    ``work`` simply runs: no watcher task is needed.
    """
    if request.scope.get(CANCELS_ON_DISCONNECT):
        return await work
    results: list[T] = []
    errors: list[Exception] = []

    async def run(scope: anyio.CancelScope) -> None:
        try:
            results.append(await work)
        except Exception as error:
            errors.append(error)
        scope.cancel()

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(run, tasks.cancel_scope)
        while (await request.receive())["type"] != "http.disconnect":
            pass
        tasks.cancel_scope.cancel()
    if errors:
        raise errors[0]
    return results[0] if results else None
