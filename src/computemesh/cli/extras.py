"""The package's optional parts, and the one line a command says when one is missing.

``pip install computemesh`` gives a routing node; the gateway and local models are the
``gateway`` and ``inference`` extras, so their libraries stay out of a node that only
routes. A command that needs an extra checks for it before starting anything.
"""

import importlib

from computemesh.cli.failure import fail

# The modules each extra brings (import names, not package names).
EXTRAS = {
    "gateway": (
        "uvicorn", "aiohttp", "uvloop", "httptools", "sqlalchemy", "alembic", "aiosqlite",
        "asyncpg", "greenlet", "jwt", "eth_account", "redis",
    ),
    "inference": ("xllamacpp", "gguf", "numpy"),
}  # fmt: skip


def missing(extra: str) -> list[str]:
    """The modules of ``extra`` that cannot be imported here."""
    absent = []
    for module in EXTRAS[extra]:
        try:
            importlib.import_module(module)
        except ImportError:
            absent.append(module)
    return absent


def require(extra: str, needed_for: str) -> None:
    """Exit 1 with one line naming the install command when ``extra`` is not installed."""
    absent = missing(extra)
    if absent:
        fail(
            "cannot start",
            f"{needed_for} needs the {extra} extra (missing {', '.join(absent)}):"
            f" pip install 'computemesh[{extra}]'",
        )
