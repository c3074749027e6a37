"""Which settings each command offers as flags, and the flag names that differ from them.

The one place where the command line departs from the settings classes: a setting added
to a class gets its flag (named after it) without a line here; only a flag whose name
is not the setting's, or a setting kept off the command line, is written down.
"""

from computemesh.cli.settings_flags import FlagSet
from computemesh.config import GatewaySettings, NodeSettings
from computemesh.config.serve import ServeSettings

# Older than the settings' names, kept for the scripts and tests that use them.
ENGINE_NAMES = {"engine.serve_default_model": "default-model"}

NODE_START = FlagSet(NodeSettings, names={**ENGINE_NAMES, "relay_service": "relay"})

# serve never joins a mesh, so the mesh's settings are not offered (they stay readable
# from the environment and TOML, where a node's settings may already be).
SERVE = FlagSet(
    ServeSettings,
    only=(
        "engine.models_dir",
        "engine.serve_default_model",
        "engine.embeddings",
        "engine.threads",
        "engine.parallel",
        "engine.ctx_size",
        "engine.cache_dir",
        "http_host",
        "http_port",
        "data_dir",
        "key_type",
        "admin_token",
        "cors_allow_origins",
        "allowed_hosts",
        "log_level",
    ),
    names={**ENGINE_NAMES, "http_host": "host", "http_port": "port"},
)

# SECRET_KEY is never a flag: a command line is readable by every user of the machine.
GATEWAY_START = FlagSet(
    GatewaySettings, without=frozenset({"secret_key"}), names={"ocf_head_url": "node"}
)
GATEWAY_MIGRATE = FlagSet(GatewaySettings, only=("database_url", "data_dir"))

# The key of the node these settings start: the same data_dir, from the same places.
IDENTITY_NEW = FlagSet(NodeSettings, only=("data_dir", "key_type"))
IDENTITY_SHOW = FlagSet(NodeSettings, only=("data_dir",))
