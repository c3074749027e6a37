"""py-libp2p's own mDNS on a host that listens on 127.0.0.1 only: the defect that
``computemesh.p2p.lan`` avoids (it multicasts on every interface anyway).

``python -m tests.support.libp2p_mdns`` prints ``started`` once it announces, then
runs until killed. Run it only inside a network namespace a test made.
"""

import trio
from libp2p import new_host
from libp2p.discovery.mdns.mdns import MDNSDiscovery
from multiaddr import Multiaddr

LOOPBACK = Multiaddr("/ip4/127.0.0.1/tcp/4002")


async def main() -> None:
    host = new_host(listen_addrs=[LOOPBACK])
    async with host.run(listen_addrs=[LOOPBACK]):
        discovery = MDNSDiscovery(host.get_network(), port=4002, host=host)
        discovery.start()  # blocks the loop while zeroconf registers; fine here
        print("started", flush=True)
        await trio.sleep_forever()


if __name__ == "__main__":
    trio.run(main)
