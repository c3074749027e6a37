"""``GET /`` (the OCF proxy API's endpoint list) and ``GET /health``."""

from typing import Any

from fastapi import APIRouter

router = APIRouter(tags=["meta"])

OCF_PROXY_ENDPOINTS = [
    "POST /v1/chat/completions",
    "POST /v1/completions",
    "POST /v1/embeddings",
    "GET /v1/models",
    "POST /api/auth/connect",
    "GET /api/user/profile",
    "POST /api/api-keys",
    "GET /api/api-keys",
    "DELETE /api/api-keys/{key_id}",
    "GET /api/models",
    "GET /api/models/public",
    "POST /api/v1/chat/completions",
    "POST /api/v1/completions",
]
# Beyond the OCF proxy API: what a real login and a usage view need.
EXTRA_ENDPOINTS = [
    "GET /api/auth/nonce",
    "GET /api/usage",
    "POST /api/v1/embeddings",
    "GET /api/v1/models",
    "GET /health",
]


@router.get("/")
async def root() -> dict[str, Any]:
    return {
        "message": "OpenAI Compatible Proxy Service",
        "version": "1.0.0",
        "endpoints": OCF_PROXY_ENDPOINTS + EXTRA_ENDPOINTS,
    }


@router.get("/health")
async def health() -> dict[str, str]:
    return {"status": "healthy", "service": "ocf-entry"}
