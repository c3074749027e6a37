"""A real member peer that hands a node signed records claiming addresses nobody has.

``python -m tests.support.address_claims --listen MULTIADDR --node MULTIADDR --claims FILE``

FILE holds a JSON list of address lists. For each list a fresh identity signs a
record claiming exactly those addresses: every record is valid, only the addresses
are lies. One connection to the node carries them all, in a table exchange (as any
peer may relay others' records). Prints ``published <n>`` and stays connected.
"""

import argparse
import json
import time

import trio

from computemesh.p2p.host import open_mesh_host
from computemesh.p2p.identity import NodeIdentity, generate
from computemesh.protocol.mesh import NodeClaims, SignedRecord, TableSnapshot
from computemesh.registry.records import sign
from computemesh.registry.sync import SYNC_PROTOCOL

RECORD_TTL_S = 300.0


def identity_after(peer_id: str) -> NodeIdentity:
    """An identity ordered after ``peer_id``: the node dials it at once (the lower id dials)."""
    while (identity := generate("ed25519")).peer_id < peer_id:
        continue
    return identity


def record(addresses: list[str], after: str, seq: int) -> SignedRecord:
    identity = identity_after(after)
    claims = NodeClaims(
        peer_id=identity.peer_id,
        seq=seq,
        issued_at=time.time(),
        ttl=RECORD_TTL_S,
        addresses=tuple(addresses),
    )
    return sign(claims, identity.sign)


async def main(listen: str, node: str, claims: list[list[str]]) -> None:
    async with open_mesh_host(generate("ed25519"), [listen]) as host:
        with trio.fail_after(60):
            while True:
                try:
                    peer = await host.dial(node)
                    break
                except Exception:
                    await trio.sleep(0.2)  # the node is still starting
        records = tuple(record(addresses, peer, int(time.time() * 1000)) for addresses in claims)
        stream = await host.open_stream(peer, SYNC_PROTOCOL)
        await stream.write_frame(TableSnapshot(records=records).model_dump_json().encode())
        await stream.read_frame()
        await stream.close()
        print(f"published {len(records)}", flush=True)
        await trio.sleep_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--listen", required=True)
    parser.add_argument("--node", required=True)
    parser.add_argument("--claims", required=True)
    args = parser.parse_args()
    with open(args.claims) as file:
        trio.run(main, args.listen, args.node, json.load(file))
