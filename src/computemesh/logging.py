"""The single logging set-up, called once by the CLI.

py-libp2p configures the root logger on import and logs a warning on every
connection ("Error getting transport addresses"), so its loggers are turned
down explicitly here.

Every line names the request it is about (``request_id``, from
``computemesh.request_id.current``) when there is one; ``json`` writes one JSON
object per line for log collectors.
"""

import json
import logging

from computemesh import request_id

NOISY_LOGGERS = ("libp2p", "multiaddr", "hypercorn.access", "httpx", "httpcore", "root")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class RequestIdFilter(logging.Filter):
    """Stamps each record with the id of the request being served (or None)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.current.get()
        return True


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        found = getattr(record, "request_id", None)
        return f"{line} [request_id={found}]" if found else line


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id, exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def setup_logging(level: str = "INFO", log_format: str = "text", access_log: bool = False) -> None:
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    logging.basicConfig(level=level.upper())
    for handler in root.handlers:
        handler.addFilter(RequestIdFilter())
        handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    # libp2p logs expected failures (a dial to a dead peer) at ERROR through its own
    # handler; computemesh reports the failures that matter itself.
    quiet = logging.DEBUG if level.upper() == "DEBUG" else logging.CRITICAL
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(quiet)
    # libp2p logs through the root logger too; keep our own loggers at the chosen level.
    logging.getLogger("computemesh").setLevel(level.upper())
    if access_log:  # asked for by name: its lines show whatever the level
        logging.getLogger("computemesh.access").setLevel(logging.INFO)
