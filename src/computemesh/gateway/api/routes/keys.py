"""API keys: create (shown once), list (never the key), deactivate."""

from fastapi import APIRouter

from computemesh.gateway.api.deps import IpLimited, StateDep, UserIdDep
from computemesh.gateway.api.schemas import (
    ApiKeyCreated,
    ApiKeyList,
    ApiKeyOut,
    CreateKeyRequest,
    Success,
)

router = APIRouter(tags=["api keys"])


@router.post("/api/api-keys")
async def create_key(
    body: CreateKeyRequest, user_id: UserIdDep, state: StateDep, _: IpLimited
) -> ApiKeyCreated:
    record, key = await state.keys.create(user_id, body.name)
    return ApiKeyCreated(
        id=record.id,
        name=record.name,
        key=key,
        created_at=record.created_at,
        last_used=record.last_used,
        is_active=record.is_active,
    )


@router.get("/api/api-keys")
async def list_keys(user_id: UserIdDep, state: StateDep, _: IpLimited) -> ApiKeyList:
    keys = await state.keys.list(user_id)
    return ApiKeyList(
        apiKeys=[
            ApiKeyOut(
                id=k.id,
                name=k.name,
                created_at=k.created_at,
                last_used=k.last_used,
                is_active=k.is_active,
            )
            for k in keys
        ]
    )


@router.delete("/api/api-keys/{key_id}")
async def deactivate_key(key_id: str, user_id: UserIdDep, state: StateDep, _: IpLimited) -> Success:
    await state.keys.deactivate(user_id, key_id)
    return Success(success=True)
