"""Logs every mDNS packet that reaches one interface, for tests of who multicasts.

``python -m tests.support.mdns_sniffer --interface IP --out FILE``

Joins 224.0.0.251 on the interface with address IP and appends ``<unix time> <source
ip>`` to FILE for each datagram sent to port 5353. Prints ``listening`` once joined.
Run it inside a network namespace a test made: the multicast stays there.
"""

import argparse
import socket
import struct
import time

MDNS_GROUP, MDNS_PORT = "224.0.0.251", 5353


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--interface", required=True, help="IP of the interface to watch")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock, open(args.out, "a") as out:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("", MDNS_PORT))
        membership = struct.pack(
            "4s4s", socket.inet_aton(MDNS_GROUP), socket.inet_aton(args.interface)
        )
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, membership)
        print("listening", flush=True)
        while True:
            _, (source, _) = sock.recvfrom(9000)
            out.write(f"{time.time()} {source}\n")
            out.flush()


if __name__ == "__main__":
    main()
