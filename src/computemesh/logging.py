"""The single logging set-up, called once by the CLI.

py-libp2p configures the root logger on import and logs a warning on every
connection ("Error getting transport addresses"), so its loggers are turned
down explicitly here.
"""

import logging

NOISY_LOGGERS = ("libp2p", "multiaddr", "hypercorn.access", "httpx", "httpcore", "root")


def setup_logging(level: str = "INFO") -> None:
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # libp2p logs expected failures (a dial to a dead peer) at ERROR through its own
    # handler; computemesh reports the failures that matter itself.
    quiet = logging.DEBUG if level.upper() == "DEBUG" else logging.CRITICAL
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(quiet)
    # libp2p logs through the root logger too; keep our own loggers at the chosen level.
    logging.getLogger("computemesh").setLevel(level.upper())
