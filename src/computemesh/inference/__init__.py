"""Local inference: the only package that imports the engine (llama.cpp via xllamacpp).

``engine`` starts one llama.cpp OpenAI server per model on 127.0.0.1 and hands out
:class:`Provider` entries (model id, kind, base URL) for the node to register as HTTP
upstreams; ``discovery`` finds models in a folder and in packages; ``progress`` shows
loads on a terminal.
"""

from computemesh.inference.discovery import discover, models_in_dir
from computemesh.inference.engine import Engine, Provider, open_engine, options_of
from computemesh.inference.llama_server import LlamaServer, ServerOptions
from computemesh.inference.packaged import default_chat_model
from computemesh.inference.progress import LoadProgress, NoProgress, RichProgress
from computemesh.inference.spec import ModelKind, ModelSpec

__all__ = [
    "Engine",
    "LlamaServer",
    "LoadProgress",
    "ModelKind",
    "ModelSpec",
    "NoProgress",
    "Provider",
    "RichProgress",
    "ServerOptions",
    "default_chat_model",
    "discover",
    "models_in_dir",
    "open_engine",
    "options_of",
]
