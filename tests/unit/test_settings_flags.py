"""Flags made from the settings: each process keeps flags > environment > TOML > defaults.

Each command's real flag set (cli/flagsets.py) parses real command lines; the settings
are then built as the command builds them, and read back instead of starting a process.
"""

from pathlib import Path
from typing import Any

import pytest
import typer
from pydantic_settings import BaseSettings
from typer.testing import CliRunner

from computemesh.cli import app
from computemesh.cli.flagsets import GATEWAY_MIGRATE, GATEWAY_START, NODE_START, SERVE
from computemesh.cli.settings_flags import FlagSet
from computemesh.config import GatewaySettings, NodeSettings
from computemesh.config.fields import settings_of
from computemesh.config.layered import LayeredSettings
from computemesh.config.serve import ServeSettings

runner = CliRunner()
SECRET = "s" * 40


def settings_from(
    flags: FlagSet, args: list[str], env: dict[str, str], toml: str, tmp_path: Path
) -> Any:
    """The settings that ``args`` on this flag set, ``env`` and a TOML file build."""
    built: list[BaseSettings] = []
    loader = flags.settings
    assert issubclass(loader, LayeredSettings)

    def body(config: Path | None, given: dict[str, Any]) -> None:
        built.append(loader.load(config, **given))

    command = typer.Typer()
    command.command()(flags.command(body))
    (tmp_path / "settings.toml").write_text(toml)
    config = ["--config", str(tmp_path / "settings.toml")]
    result = runner.invoke(command, [*config, *args], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return built[0]


def test_node_flags_beat_env_beat_toml_beat_defaults(tmp_path: Path) -> None:
    toml = 'http_port = 7001\nowner = "0xfile"\nrecord_ttl = 30.0\nrole = ["file"]\n'
    toml += 'identity_group = ["llm:model=file"]\n[engine]\nparallel = 7\n'
    env = {
        "COMPUTEMESH_HTTP_PORT": "7002",
        "COMPUTEMESH_OWNER": "0xenv",
        "COMPUTEMESH_ENGINE__THREADS": "5",
        "COMPUTEMESH_ENGINE__PARALLEL": "6",
        "COMPUTEMESH_TRUST_LOOPBACK": "true",
        "COMPUTEMESH_ROLE": '["env"]',
        "COMPUTEMESH_IDENTITY_GROUP": '["llm:model=env"]',
    }
    args = ["--http-port", "7003", "--threads", "3", "--no-trust-loopback"]
    args += ["--identity-group", "llm:model=a", "--identity-group", "llm:model=b"]
    settings = settings_from(NODE_START, args, env, toml, tmp_path)
    assert settings.http_port == 7003  # flag over env and file
    assert settings.engine.threads == 3  # a nested flag over its env variable
    assert settings.trust_loopback is False  # a bool's --no- form over env
    assert settings.identity_group == ["llm:model=a", "llm:model=b"]  # a repeated flag
    assert settings.owner == "0xenv"  # no flag: env over file
    assert settings.role == ["env"]  # a list without its flag: env over file
    assert settings.engine.parallel == 6  # nested: env over file
    assert settings.record_ttl == 30.0  # file over default
    assert settings.max_peers == 64  # default


def test_serve_flags_beat_env_beat_toml_beat_its_own_defaults(tmp_path: Path) -> None:
    toml = 'http_host = "127.0.0.2"\nlog_level = "ERROR"\n[engine]\nctx_size = 4096\n'
    env = {"COMPUTEMESH_HTTP_PORT": "7102", "COMPUTEMESH_LOG_LEVEL": "INFO"}
    args = ["--port", "7103", "--no-default-model"]
    settings = settings_from(SERVE, args, env, toml, tmp_path)
    assert settings.http_port == 7103  # serve's --port over env
    assert settings.engine.serve_default_model is False  # flag over serve's default
    assert settings.log_level == "INFO"  # env over file
    assert settings.http_host == "127.0.0.2"  # file over default
    assert settings.engine.ctx_size == 4096
    assert settings.data_dir == Path("~/.computemesh/serve").expanduser()  # serve's default


def test_gateway_flags_beat_env_beat_toml_beat_defaults(tmp_path: Path) -> None:
    toml = 'ocf_head_url = ["http://file:1"]\nkey_rpm = 11\nip_rpm = 12\nport = 7201\n'
    env = {
        "SECRET_KEY": SECRET,
        "OCF_HEAD_URL": "http://env:1",
        "COMPUTEMESH_GATEWAY_KEY_RPM": "21",
    }
    args = ["--node", "http://flag:1", "--node", "http://flag:2", "--port", "7203"]
    settings = settings_from(GATEWAY_START, args, env, toml, tmp_path)
    assert settings.ocf_head_url == ["http://flag:1", "http://flag:2"]  # --node over env
    assert settings.port == 7203
    assert settings.key_rpm == 21  # env over file
    assert settings.ip_rpm == 12  # file over default
    assert settings.ip_tpm == 0  # default


def test_gateway_migrate_takes_the_database_and_its_folder_only(tmp_path: Path) -> None:
    assert [f.name for f in GATEWAY_MIGRATE.flags()] == ["data-dir", "database-url"]
    url = f"sqlite+aiosqlite:///{tmp_path}/flag.db"
    env = {
        "SECRET_KEY": SECRET,
        "COMPUTEMESH_GATEWAY_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/env.db",
    }
    settings = settings_from(GATEWAY_MIGRATE, ["--database-url", url], env, "", tmp_path)
    assert settings.database_url == url


@pytest.mark.parametrize(
    ("flags", "settings"),
    [(NODE_START, NodeSettings), (GATEWAY_START, GatewaySettings)],
    ids=["node", "gateway"],
)
def test_every_setting_of_a_node_and_a_gateway_is_a_flag(
    flags: FlagSet, settings: type[BaseSettings]
) -> None:
    offered = {flag.setting.key for flag in flags.flags()}
    assert offered == {s.key for s in settings_of(settings)} - {"secret_key"}


def test_older_flag_names_are_kept() -> None:
    assert NODE_START.flag_of("engine.serve_default_model") == "--default-model"
    assert SERVE.flag_of("http_port") == "--port"
    assert SERVE.flag_of("http_host") == "--host"
    assert GATEWAY_START.flag_of("ocf_head_url") == "--node"
    assert GATEWAY_START.flag_of("secret_key") is None  # never on a command line
    assert SERVE.flag_of("bootstrap") is None  # serve joins no mesh


def test_a_secret_key_flag_is_refused_by_the_gateway() -> None:
    result = runner.invoke(app, ["gateway", "start", "--secret-key", SECRET])
    assert result.exit_code == 2
    assert "No such option" in result.output


def test_two_settings_on_one_flag_name_are_refused() -> None:
    clash = FlagSet(ServeSettings, names={"http_port": "threads"})
    with pytest.raises(ValueError, match="--threads would set both"):
        clash.flags()


def test_identity_finds_the_key_where_the_same_settings_start_the_node(tmp_path: Path) -> None:
    (tmp_path / "node.toml").write_text(f'data_dir = "{tmp_path / "from-file"}"\n')
    config = ["--config", str(tmp_path / "node.toml")]
    env = {"COMPUTEMESH_KEY_TYPE": "secp256k1"}
    created = runner.invoke(app, ["identity", "new", *config], env=env)
    assert created.exit_code == 0, created.output
    assert str(tmp_path / "from-file") in created.stdout  # data_dir from the file
    shown = runner.invoke(app, ["identity", "show", *config])
    assert shown.stdout.strip().startswith("16Uiu2")  # key type from the environment
    moved = {"COMPUTEMESH_DATA_DIR": str(tmp_path / "from-env")}
    assert runner.invoke(app, ["identity", "show", *config], env=moved).exit_code == 1
