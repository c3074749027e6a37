"""What a browser says about the page behind a request: its ``Origin`` and ``Sec-Fetch-Site``.

A web page the user visits can send a simple POST to ``http://127.0.0.1:8092`` without
a preflight. Browsers name the page's origin in ``Origin`` (every cross-origin POST,
and every CORS request) and, in current browsers, the relation in ``Sec-Fetch-Site``
on every request. Clients that are not browsers send neither.
"""

from collections.abc import Mapping
from urllib.parse import urlsplit

DEFAULT_PORTS = {"http": 80, "https": 443}
# "same-origin" is the node's own page, "none" a user typing the URL; "same-site" is
# another port of the same host, which is another origin.
SAFE_FETCH_SITES = frozenset({"same-origin", "none"})


def from_another_origin(headers: Mapping[str, str]) -> bool:
    """True when a browser sent this for a page that is not served by this very host."""
    fetch_site = headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site.strip().lower() not in SAFE_FETCH_SITES:
        return True
    origin = headers.get("origin")
    return origin is not None and not _same_origin(origin, headers.get("host", ""))


def _same_origin(origin: str, host: str) -> bool:
    """``Origin`` names the authority the request was sent to (``null`` never does).

    The scheme sets only the default port: the node speaks plain HTTP, so an
    ``https`` page of the same authority is its own, served through a TLS proxy.
    """
    try:
        page = urlsplit(origin.strip())
        target = urlsplit("//" + host.strip())
        default = DEFAULT_PORTS.get(page.scheme)
        if default is None or not page.hostname or not target.hostname:
            return False
        return (page.hostname, page.port or default) == (target.hostname, target.port or default)
    except ValueError:  # a port that is not a number
        return False
