"""The models in the mesh, in the OCF proxy API's shape, from a node's table."""

from fastapi import APIRouter

from computemesh.gateway.api.deps import IpLimited, StateDep, UserIdDep
from computemesh.gateway.api.schemas import ModelOut

router = APIRouter(tags=["models"])


@router.get("/api/models")
async def models(_user: UserIdDep, state: StateDep, _: IpLimited) -> list[ModelOut]:
    return await _models(state)


@router.get("/api/models/public")
async def public_models(state: StateDep, _: IpLimited) -> list[ModelOut]:
    return await _models(state)


async def _models(state: StateDep) -> list[ModelOut]:
    return [
        ModelOut(
            id=m.id,
            name=m.id,
            description=m.description,
            author=m.author,
            blockchain=m.blockchain,
            price=m.price,
            tags=m.tags,
            huggingFaceId=m.hugging_face_id,
        )
        for m in await state.catalog.models()
    ]
