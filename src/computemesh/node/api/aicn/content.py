"""Content-addressed image storage: CIDv1 (raw codec, sha2-256) computed from the bytes.

A CID names the bytes themselves, so anyone can check what ``/ipfs/<cid>`` returns; it
is the same CID an IPFS node gives a file of one raw block (``ipfs add --cid-version 1
--raw-leaves`` for files up to its 256 KiB chunk size).
"""

import base64
import hashlib
import os
import re
import secrets
import string
from pathlib import Path

CIDV1 = 0x01
RAW_CODEC = 0x55
SHA2_256 = 0x12
CID_PATTERN = re.compile(r"^b[a-z2-7]{58}$")
NAME_ALPHABET = string.ascii_lowercase + string.digits
_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "png", "image/png"),
    (b"\xff\xd8\xff", "jpg", "image/jpeg"),
    (b"GIF8", "gif", "image/gif"),
    (b"RIFF", "webp", "image/webp"),
)


def cid_of(data: bytes) -> str:
    """``b`` + base32 of <version><codec><multihash(sha2-256, 32 bytes)>."""
    binary = bytes([CIDV1, RAW_CODEC, SHA2_256, 32]) + hashlib.sha256(data).digest()
    return "b" + base64.b32encode(binary).decode().lower().rstrip("=")


def sniff(data: bytes) -> tuple[str, str]:
    """File extension and media type from the leading bytes."""
    for magic, extension, media_type in _SIGNATURES:
        if data.startswith(magic):
            return extension, media_type
    return "bin", "application/octet-stream"


class ContentStore:
    """Files named by their CID in one directory."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def put(self, data: bytes) -> tuple[str, str]:
        """Store ``data``; returns its CID and a fresh image name (``<16 chars>.<ext>``)."""
        cid = cid_of(data)
        path = self.directory / cid
        if not path.exists():
            self.directory.mkdir(parents=True, exist_ok=True)
            temporary = path.with_name(f".{cid}.{os.getpid()}.tmp")
            temporary.write_bytes(data)
            temporary.replace(path)  # readers see the whole file or none
        name = "".join(secrets.choice(NAME_ALPHABET) for _ in range(16))
        return cid, f"{name}.{sniff(data)[0]}"

    def get(self, cid: str) -> bytes | None:
        """The bytes named ``cid``, or None; anything not shaped like a CID is never a path."""
        if not CID_PATTERN.match(cid):
            return None
        path = self.directory / cid
        return path.read_bytes() if path.is_file() else None
