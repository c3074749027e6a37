"""A unix socket in front of a TCP port on a namespace's loopback.

``ip netns exec NS python -m tests.support.uds_bridge --socket PATH --port P``

Unix sockets live in the file system, which namespaces share, so a test outside the
namespace reaches a node's HTTP API on the namespace's own 127.0.0.1 through PATH
(``httpx.HTTPTransport(uds=PATH)``), and no network link to the host is needed.
Prints ``listening`` once the socket exists.
"""

import argparse
import asyncio


async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except OSError:
        pass
    finally:
        writer.close()


async def main(socket_path: str, port: int) -> None:
    async def bridge(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            writer.close()
            return
        await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))

    server = await asyncio.start_unix_server(bridge, path=socket_path)
    print("listening", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--socket", required=True)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    asyncio.run(main(args.socket, args.port))
