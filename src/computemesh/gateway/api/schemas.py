"""Request and response bodies of the gateway surface, in the OCF proxy API's field names."""

import re
from datetime import date, datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field

from computemesh.protocol import openai as wire

ADDRESS = r"^0x[0-9a-fA-F]{40}$"
DAY = r"^\d{4}-\d{2}-\d{2}$"
# What no database column can hold: PostgreSQL refuses NUL in text, and an unpaired
# surrogate (which JSON's \uD800 escapes allow) cannot be encoded as UTF-8 at all.
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable(text: str) -> str:
    if UNSTORABLE.search(text):
        raise ValueError("must not contain NUL characters or unpaired surrogates")
    return text


StorableText = Annotated[str, AfterValidator(storable)]


def calendar_day(text: str | None) -> str | None:
    """``text`` if it names a real day (``2026-02-30`` matches ``DAY`` but is none)."""
    if text is not None:
        date.fromisoformat(text)  # its ValueError is the validation error
    return text


# The largest chain id a wallet can name: JavaScript's safe integers (EIP-2294's bound
# is near it), well inside the 64-bit column that stores it.
MAX_CHAIN_ID = 2**53 - 1


class ConnectRequest(BaseModel):
    address: str = Field(pattern=ADDRESS)
    signature: str = Field(pattern=r"^0x[0-9a-fA-F]{130}$", description="65-byte personal_sign")
    chain_id: int = Field(default=1, ge=1, le=MAX_CHAIN_ID)


class NonceOut(BaseModel):
    address: str
    chain_id: int
    nonce: str
    message: str = Field(description="the EIP-4361 text to sign with personal_sign")
    expires_at: datetime


class UserOut(BaseModel):
    id: str
    address: str
    created_at: datetime


class ConnectOut(BaseModel):
    token: str
    user: UserOut


class CreateKeyRequest(BaseModel):
    name: StorableText = Field(min_length=1, max_length=200)


class ApiKeyOut(BaseModel):
    id: str
    name: str
    created_at: datetime
    last_used: datetime | None
    is_active: bool


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="shown once; only its hash is stored")


class ApiKeyList(BaseModel):
    apiKeys: list[ApiKeyOut]


class Success(BaseModel):
    success: bool


class ModelOut(BaseModel):
    id: str
    name: str
    description: str
    author: str
    blockchain: str
    price: str
    tags: list[str]
    huggingFaceId: str | None


class UsageRow(BaseModel):
    day: str
    api_key_id: str | None
    model: str
    requests: int
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class UsageOut(BaseModel):
    usage: list[UsageRow]
    total_requests: int
    total_tokens: int


# The inference bodies are the nodes' own wire models (every parameter checked against
# its range, unknown fields kept), so what a node would refuse with its 400 is refused
# here first, with the OCF proxy API's 422; the body is still forwarded as the client sent it.
# The model name must also fit the usage table.


class ChatRequest(wire.ChatCompletionRequest):
    model: StorableText = Field(min_length=1, max_length=200)


class CompletionRequest(wire.CompletionRequest):
    model: StorableText = Field(min_length=1, max_length=200)


class EmbeddingRequest(wire.EmbeddingRequest):
    model: StorableText = Field(min_length=1, max_length=200)
