"""Request and response bodies of the gateway surface, in the seed's field names."""

import re
from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

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


class OpenAIRequest(BaseModel):
    """The fields the gateway reads; everything else passes to the node untouched."""

    model_config = ConfigDict(extra="allow")

    model: StorableText = Field(min_length=1, max_length=200)
    stream: bool = False
    stream_options: dict[str, Any] | None = None


class ChatRequest(OpenAIRequest):
    messages: list[dict[str, Any]] = Field(min_length=1)


class CompletionRequest(OpenAIRequest):
    prompt: str | list[Any]


class EmbeddingRequest(OpenAIRequest):
    input: str | list[Any]
