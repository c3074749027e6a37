"""``GET /api/usage``: the caller's per-key, per-model, per-day totals."""

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import AfterValidator

from computemesh.gateway.api.deps import IpLimited, StateDep, UserIdDep
from computemesh.gateway.api.schemas import DAY, UsageOut, UsageRow, calendar_day

router = APIRouter(tags=["usage"])


@router.get("/api/usage")
async def usage(
    user_id: UserIdDep,
    state: StateDep,
    _: IpLimited,
    since: Annotated[
        str | None, Query(pattern=DAY, description="first UTC day"), AfterValidator(calendar_day)
    ] = None,
    until: Annotated[
        str | None, Query(pattern=DAY, description="last UTC day"), AfterValidator(calendar_day)
    ] = None,
) -> UsageOut:
    # This replica's pending records go first, so a caller sees its own requests.
    await state.recorder.flush()
    totals = await state.db.usage.totals(user_id, since, until)
    rows = [
        UsageRow(
            day=t.day,
            api_key_id=t.api_key_id,
            model=t.model,
            requests=t.requests,
            prompt_tokens=t.prompt_tokens,
            completion_tokens=t.completion_tokens,
            total_tokens=t.prompt_tokens + t.completion_tokens,
        )
        for t in totals
    ]
    return UsageOut(
        usage=rows,
        total_requests=sum(r.requests for r in rows),
        total_tokens=sum(r.total_tokens for r in rows),
    )
