"""The command line: identity, token and bad settings."""

from pathlib import Path

from typer.testing import CliRunner

from computemesh import jointoken
from computemesh.cli import app

runner = CliRunner()


def test_token_new_prints_a_decodable_token() -> None:
    result = runner.invoke(app, ["token", "new", "--bootstrap", "/ip4/127.0.0.1/tcp/1/p2p/x"])
    assert result.exit_code == 0
    assert jointoken.decode(result.stdout.strip()).bootstraps == ("/ip4/127.0.0.1/tcp/1/p2p/x",)


def test_identity_new_then_show(tmp_path: Path) -> None:
    created = runner.invoke(
        app, ["identity", "new", "--data-dir", str(tmp_path), "--key-type", "secp256k1"]
    )
    assert created.exit_code == 0
    shown = runner.invoke(app, ["identity", "show", "--data-dir", str(tmp_path)])
    assert shown.stdout.strip().startswith("16Uiu2")
    assert shown.stdout.strip() in created.stdout
    again = runner.invoke(app, ["identity", "new", "--data-dir", str(tmp_path)])
    assert again.exit_code == 1
    assert "--force" in again.stdout


def test_identity_show_without_a_key_is_a_clear_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["identity", "show", "--data-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert "no identity key" in result.stdout


def test_node_start_refuses_bad_settings(tmp_path: Path) -> None:
    for args in (
        ["--admin-token", "changeme"],
        ["--key-type", "rsa"],
        ["--config", str(tmp_path / "none")],
    ):
        result = runner.invoke(app, ["node", "start", "--data-dir", str(tmp_path), *args])
        assert result.exit_code == 2, args
        [line] = result.stderr.splitlines()  # one line, on stderr
        assert line.startswith("invalid settings: "), line
        assert "changeme" not in line  # a refused value may be a secret: never shown
