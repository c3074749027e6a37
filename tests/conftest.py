"""Every test runs without the developer's own computemesh settings.

The node and the gateway read ``COMPUTEMESH_*`` (the gateway also OCF's ``SECRET_KEY``,
``OCF_HEAD_URL`` and ``ACCESS_TOKEN_EXPIRE_MINUTES``) from the environment, in any case,
and every process a test starts inherits this one's environment
(``tests/support/processes.py``, ``LocalNode``). So they are removed once, when pytest
starts and before any test module is imported (some build settings at import time), for
the whole session; a test that wants one sets it itself (``monkeypatch.setenv``, or a
node's ``env``). ``COMPUTEMESH_TEST_*`` are the suite's own (which PostgreSQL and Redis
to use), not a node's, and stay.
"""

import os
import re
from collections.abc import Iterable

import pytest

_DEVELOPER_SETTING = re.compile(
    r"COMPUTEMESH_(?!TEST_).*|SECRET_KEY|OCF_HEAD_URL|ACCESS_TOKEN_EXPIRE_MINUTES", re.IGNORECASE
)


def developer_settings(names: Iterable[str]) -> list[str]:
    """The names among ``names`` that a node or gateway would read as its settings."""
    return sorted(name for name in names if _DEVELOPER_SETTING.fullmatch(name))


def pytest_configure(config: pytest.Config) -> None:
    for name in developer_settings(os.environ):
        del os.environ[name]
