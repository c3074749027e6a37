"""Counts the TCP connections accepted on one address, for tests of what a node dials.

``python -m tests.support.accept_counter --listen HOST:PORT --out FILE``

Each accepted connection is closed at once and appends ``<unix time> <local ip>
<remote ip>`` to FILE. With HOST 0.0.0.0 the local ip says which of this machine's
(or namespace's) addresses was dialed. Prints ``listening`` once bound.
"""

import argparse
import socket
import time


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--listen", required=True, help="HOST:PORT")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    host, port = args.listen.rsplit(":", 1)
    with socket.create_server((host, int(port))) as server, open(args.out, "a") as out:
        print("listening", flush=True)
        while True:
            connection, remote = server.accept()
            local = connection.getsockname()
            connection.close()
            out.write(f"{time.time()} {local[0]} {remote[0]}\n")
            out.flush()


if __name__ == "__main__":
    main()
