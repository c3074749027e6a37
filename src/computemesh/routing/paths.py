"""Safe paths for ``/v1/_service/{service}/{path}``: only ever a path under the upstream.

Refused: dot segments (also percent-encoded), encoded slashes or backslashes,
backslashes, NUL and control characters, and anything that could be read as an
authority or an absolute URL (``//host``, ``http:``).
"""

import re
from urllib.parse import unquote

from computemesh.errors import ComputemeshError

_ENCODED_SEPARATOR = re.compile(rb"%(2f|5c|00)", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x1f\x7f\\]")


class UnsafePath(ComputemeshError):
    """A forwarded path tried to leave the service it names."""


def safe_path(raw: bytes) -> str:
    """The raw (still percent-encoded) path, checked; it always starts with ``/``."""
    if _ENCODED_SEPARATOR.search(raw):
        raise UnsafePath("encoded slashes, backslashes or NUL are not allowed in the path")
    text = raw.decode("latin-1")
    if not text:
        return "/"
    if not text.startswith("/") or text.startswith("//"):
        raise UnsafePath("the path must be a plain absolute path")
    decoded = unquote(text)
    if _CONTROL.search(decoded):
        raise UnsafePath("control characters or backslashes are not allowed in the path")
    if any(segment in (".", "..") for segment in decoded.split("/")):
        raise UnsafePath("dot segments are not allowed in the path")
    if ":" in decoded.split("/")[1]:
        raise UnsafePath("the path must not look like an absolute URL")
    return text
