"""EIP-4361 ("Sign-In with Ethereum") messages and EIP-191 signer recovery.

The server writes the whole message, nonce and expiry included, and keeps it; the
client only signs it. So nothing in the message needs parsing back: the check is that
the stored message, signed with ``personal_sign`` (EIP-191 version 0x45), recovers to
the claimed address.
"""

import secrets
from dataclasses import dataclass
from datetime import datetime

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_utils.address import is_address, to_checksum_address

STATEMENT = "Sign in to the computemesh gateway."


@dataclass(frozen=True, slots=True)
class MessageFields:
    domain: str
    uri: str
    address: str
    chain_id: int
    nonce: str
    issued_at: datetime
    expires_at: datetime


def new_nonce() -> str:
    # EIP-4361 asks for at least 8 alphanumeric characters; 128 bits of them here.
    return secrets.token_hex(16)


def checksum(address: str) -> str | None:
    """The EIP-55 form of an address, or None if it is not one."""
    return to_checksum_address(address) if is_address(address) else None


def message(fields: MessageFields) -> str:
    return (
        f"{fields.domain} wants you to sign in with your Ethereum account:\n"
        f"{fields.address}\n\n"
        f"{STATEMENT}\n\n"
        f"URI: {fields.uri}\n"
        "Version: 1\n"
        f"Chain ID: {fields.chain_id}\n"
        f"Nonce: {fields.nonce}\n"
        f"Issued At: {_iso(fields.issued_at)}\n"
        f"Expiration Time: {_iso(fields.expires_at)}"
    )


def signer(text: str, signature: str) -> str | None:
    """The address that signed ``text`` with personal_sign, or None for a malformed signature."""
    try:
        recovered: str = Account.recover_message(encode_defunct(text=text), signature=signature)
    except Exception:  # eth-account raises several unrelated types for bad input
        return None
    return to_checksum_address(recovered)


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")
