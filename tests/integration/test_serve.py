"""``computemesh serve``: one command, a standalone OffGrid server on local models."""

import signal
import subprocess
import sys
from pathlib import Path

import httpx
from openai import OpenAI

from computemesh.cli.localmesh import free_port, wait_until
from tests.fixtures.tiny_gguf import write_tiny_gguf


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def test_serve_answers_openai_requests_from_a_models_folder(tmp_path: Path) -> None:
    (tmp_path / "models").mkdir()
    write_tiny_gguf(tmp_path / "models" / "offgrid-tiny.gguf")
    port = free_port()
    command = [
        sys.executable, "-m", "computemesh.cli", "serve", "--no-default-model",
        "--models-dir", str(tmp_path / "models"), "--port", str(port),
        "--data-dir", str(tmp_path / "key"), "--threads", "1", "--parallel", "1",
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        assert wait_until(lambda: _healthy(url), 60), process.stdout
        client = OpenAI(base_url=f"{url}/v1", api_key="not-needed", max_retries=0)
        assert [m.id for m in client.models.list()] == ["offgrid-tiny"]
        reply = client.chat.completions.create(
            model="offgrid-tiny", messages=[{"role": "user", "content": "Hello!"}], max_tokens=3
        )
        assert reply.choices[0].finish_reason == "length"
        assert httpx.get(url).json()["status"] == "running"
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=20) == 0
        assert process.stdout is not None
        assert "serving offgrid-tiny" in process.stdout.read().decode()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
