"""TCP connections to upstreams: telling a live idle connection from one the server closed."""

import os
import resource
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial

import anyio
import trio

from computemesh.p2phttp.tcp import TcpStream, connect

HIGH_FD = 1100  # past select()'s FD_SETSIZE of 1024


@contextmanager
def descriptors_taken_up_to(count: int) -> Iterator[None]:
    """Hold open descriptors so that the next ones the process opens are numbered ``count`` on.

    The soft limit is raised when it is lower (container limits often are 1024).
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = count + 64
    if soft != resource.RLIM_INFINITY and soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, hard), hard))
    held: list[int] = []
    try:
        while not held or held[-1] < count:
            held.append(os.open(os.devnull, os.O_RDONLY))
        yield
    finally:
        for fd in held:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


async def test_is_open_tells_an_idle_connection_from_a_closed_one_on_a_high_descriptor() -> None:
    accepted: list[trio.SocketStream] = []
    arrived = trio.Event()

    async def keep(stream: trio.SocketStream) -> None:
        accepted.append(stream)
        arrived.set()
        await trio.sleep_forever()

    async with trio.open_nursery() as nursery:
        [listener] = await nursery.start(partial(trio.serve_tcp, keep, 0, host="127.0.0.1"))
        port = listener.socket.getsockname()[1]
        with descriptors_taken_up_to(HIGH_FD):
            stream = await connect("127.0.0.1", port)
            assert stream_fd(stream) >= HIGH_FD
            await arrived.wait()
            assert stream.is_open
            await accepted[0].aclose()
            with anyio.fail_after(10):
                await trio.lowlevel.wait_readable(stream._socket)  # the server's FIN is here
            assert not stream.is_open
            await stream.close()
            assert not stream.is_open
        nursery.cancel_scope.cancel()


def stream_fd(stream: TcpStream) -> int:
    fd: int = stream._socket.fileno()
    return fd
