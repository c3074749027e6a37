"""Images to the IPFS node a caller names (``ipfs_node``), through its HTTP RPC API.

AICN let each project run its own IPFS storage server; a request that names one gets
its images added there (``/api/v0/add``, CIDv1 with raw leaves, pinned), and the
answer carries that node and the CIDs it gave. Only that one path of that URL is
ever called, so a caller cannot point the serving node anywhere else.
"""

import time
from urllib.parse import urlsplit

import anyio
import httpx

from computemesh.node.api.aicn.content import sniff
from computemesh.node.api.aicn.envelope import AicnError
from computemesh.node.api.state import NodeState
from computemesh.protocol.aicn import Code, ImageChoice

ADD_PATH = "/api/v0/add"
ADD_PARAMS = {"cid-version": "1", "raw-leaves": "true", "pin": "true"}


def ipfs_api_base(ipfs_node: str) -> str:
    """``scheme://host[:port]`` of a caller's IPFS node; anything else is refused."""
    parts = urlsplit(ipfs_node)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username:
        raise AicnError(Code.PARAMETER, f"ipfs_node must be an http(s) URL, got {ipfs_node!r}")
    return f"{parts.scheme}://{parts.netloc}"


async def upload(
    state: NodeState, ipfs_node: str, images: list[tuple[bytes, str]], until: float
) -> list[ImageChoice]:
    """Add each ``(bytes, image name)`` to the caller's IPFS node; its CIDs, in order."""
    url = ipfs_api_base(ipfs_node) + ADD_PATH
    return [await _add(state.http, url, data, name, until) for data, name in images]


async def _add(
    http: httpx.AsyncClient, url: str, data: bytes, name: str, until: float
) -> ImageChoice:
    files = {"file": (name, data, sniff(data)[1])}
    try:
        with anyio.fail_after(max(until - time.monotonic(), 0)):
            response = await http.post(url, params=ADD_PARAMS, files=files)
        added = response.json()
        cid = added["Hash"]
    except TimeoutError as error:
        raise AicnError(Code.TIMEOUT, f"the IPFS node at {url} did not answer in time") from error
    except (httpx.HTTPError, ValueError, KeyError, TypeError) as error:
        raise AicnError(Code.IPFS, f"cannot add the image to {url}: {error}") from error
    if response.status_code != 200 or not isinstance(cid, str):
        raise AicnError(Code.IPFS, f"the IPFS node at {url} answered HTTP {response.status_code}")
    return ImageChoice(cid=cid, image_name=name)
