"""Which surface and route template served a request: label values, never raw paths.

FastAPI leaves the matched route in the request's scope (``route``); the forwarding
lane, which answers its routes without FastAPI, leaves their handler (``endpoint``),
the same function as the route's. A path no route matched is ``unmatched``.
"""

from collections.abc import Iterable, Mapping
from typing import Any

from fastapi.routing import APIRoute
from starlette.routing import BaseRoute

UNMATCHED = ("none", "unmatched")
# Route tags name the surface; untagged routes are told apart by their path.
SURFACE_OF_TAG = {"openai": "openai", "forwarding": "ocf", "AICN": "aicn", "LocalAI P2P": "localai"}
OPERATOR_PATHS = ("/metrics", "/docs", "/redoc", "/openapi.json", "/docs/oauth2-redirect")


class RouteNames:
    """``(surface, route template)`` of the request a scope was answered for."""

    def __init__(self, lane_routes: Iterable[BaseRoute]) -> None:
        self._lane = {route.endpoint: route for route in lane_routes if isinstance(route, APIRoute)}
        self._names: dict[int, tuple[str, str]] = {}

    def of(self, scope: Mapping[str, Any]) -> tuple[str, str]:
        route = scope.get("route") or self._lane.get(scope.get("endpoint"))  # type: ignore[arg-type]
        if route is None:
            return UNMATCHED
        found = self._names.get(id(route))
        if found is None:
            found = self._names[id(route)] = _name(route)
        return found


def _name(route: Any) -> tuple[str, str]:
    path = str(getattr(route, "path", "unmatched"))
    tags = [str(tag) for tag in getattr(route, "tags", None) or []]
    return _surface(path, tags), path


def _surface(path: str, tags: list[str]) -> str:
    for tag in tags:
        if tag in SURFACE_OF_TAG:
            return SURFACE_OF_TAG[tag]
    if path in OPERATOR_PATHS:
        return "operator"
    if path.startswith(("/v1/dnt", "/v1/health")):
        return "ocf"
    return "openai"
