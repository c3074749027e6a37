"""A developer's computemesh settings never reach a test or the nodes it starts (tests/conftest)."""

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import developer_settings

ROOT = Path(__file__).resolve().parents[2]
DEVELOPERS = {
    "COMPUTEMESH_HTTP_PORT": "1",
    "computemesh_owner": "0xdeveloper",  # settings are read whatever the case
    "COMPUTEMESH_ENGINE__THREADS": "64",
    "COMPUTEMESH_GATEWAY_DATABASE_URL": "postgresql://prod/db",
    "SECRET_KEY": "the developer's own",
    "OCF_HEAD_URL": "http://prod.example",
    "ACCESS_TOKEN_EXPIRE_MINUTES": "5",
}
SUITES = {"COMPUTEMESH_TEST_PG": "postgresql://postgres@127.0.0.1:5432/test"}


def test_no_developer_setting_reaches_a_test_or_its_processes() -> None:
    assert developer_settings(os.environ) == []
    child = subprocess.run(
        [sys.executable, "-c", "import os; print('\\n'.join(os.environ))"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert developer_settings(child.stdout.split()) == []


INNER = test_no_developer_setting_reaches_a_test_or_its_processes


def test_a_developers_settings_are_removed_and_the_suites_own_kept() -> None:
    assert developer_settings(DEVELOPERS) == sorted(DEVELOPERS)
    assert developer_settings(SUITES) == []
    inner = f"{Path(__file__).relative_to(ROOT)}::{INNER.__name__}"
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", inner],
        cwd=ROOT,
        env={**os.environ, **DEVELOPERS, **SUITES},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
