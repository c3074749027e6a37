"""OpenAI / OffGrid wire models: requests validated, responses shaped.

Requests forbid nothing extra (clients send fields we pass through, such as ``n`` or
``user``), but every parameter the OffGrid API names is checked against its range.
"""

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

Role = Literal["system", "user", "assistant", "tool", "developer"]
NonEmptyText = Annotated[str, Field(min_length=1)]
StopSequences = Annotated[list[str], Field(min_length=1, max_length=4)]


class _Request(BaseModel):
    """Extra fields are kept and forwarded untouched to the engine."""

    model_config = ConfigDict(extra="allow")


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="allow")

    include_usage: bool = False


class ChatMessage(BaseModel):
    """One turn; content may be text or a list of content parts."""

    model_config = ConfigDict(extra="allow")

    role: Role
    content: str | list[dict[str, Any]] | None = Field(default=None, validate_default=True)

    @field_validator("content")
    @classmethod
    def _said_unless_assistant(cls, content: Any, info: ValidationInfo) -> Any:
        # An assistant turn may carry tool calls instead of content; every other turn
        # must say something (llama.cpp refuses it too, in a shape of its own).
        if content is None and info.data.get("role", "assistant") != "assistant":
            raise ValueError(f"a {info.data['role']} message needs content")
        return content


class SamplingParameters(_Request):
    """Parameters shared by chat and text completions, with the OffGrid API's ranges."""

    model: str = Field(min_length=1)
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    max_tokens: int | None = Field(default=None, ge=1)
    top_p: float | None = Field(default=None, ge=0.0, le=1.0)
    frequency_penalty: float | None = Field(default=None, ge=-2.0, le=2.0)
    presence_penalty: float | None = Field(default=None, ge=-2.0, le=2.0)
    stop: str | StopSequences | None = None
    stream: bool = False
    stream_options: StreamOptions | None = None
    seed: int | None = None


class ChatCompletionRequest(SamplingParameters):
    messages: list[ChatMessage] = Field(min_length=1)


class CompletionRequest(SamplingParameters):
    prompt: NonEmptyText | Annotated[list[NonEmptyText], Field(min_length=1)]


class EmbeddingRequest(_Request):
    model: str = Field(min_length=1)
    input: NonEmptyText | Annotated[list[NonEmptyText], Field(min_length=1)]
    encoding_format: Literal["float", "base64"] = "float"


class Usage(BaseModel):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0


class ModelCard(BaseModel):
    """One entry of ``GET /v1/models``."""

    id: str
    object: Literal["model"] = "model"
    created: int = 0
    owned_by: str = "computemesh"


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard] = Field(default_factory=list)


class ErrorDetail(BaseModel):
    message: str
    type: str
    code: str | None = None
    param: str | None = None


class ErrorResponse(BaseModel):
    """The OffGrid API's error envelope: ``{"error": {"message", "type", "code"}}``."""

    error: ErrorDetail


class ModelImport(BaseModel):
    """OffGrid's ``POST /v1/import``: a GGUF file on this machine (a USB stick) to serve."""

    model_config = ConfigDict(extra="forbid")

    path: str = Field(min_length=1, max_length=4096, description="the GGUF file")
    name: str | None = Field(
        default=None,
        min_length=1,
        max_length=128,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
        description="the model id (default: the file name without .gguf)",
    )
