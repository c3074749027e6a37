"""OCF's fixed login message, which its frontends sign instead of a server-issued one.

It holds no nonce and no expiry, so one signature over it logs in forever, for anyone
who ever saw it. The gateway refuses it, saying what to do instead, unless the
operator accepts it for a migration (``accept_legacy_login_message``).
"""

from computemesh.gateway.accounts import siwe

REFUSED = (
    "this signs OCF's fixed 'Welcome to OCF!' message, which has no nonce and can be "
    "replayed forever, so it is not accepted: GET /api/auth/nonce?address=<address>&"
    "chain_id=<chain_id>, sign the `message` it returns with personal_sign, and POST "
    "that signature here"
)


def text(chain_id: int) -> str:
    return f"Welcome to OCF! Sign this message to authenticate your wallet.\n\nChain ID: {chain_id}"


def signed_by(address: str, signature: str, chain_id: int) -> bool:
    """Whether ``signature`` is ``address``'s personal_sign of OCF's message for ``chain_id``."""
    return siwe.signer(text(chain_id), signature) == address
