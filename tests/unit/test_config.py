"""Settings precedence: CLI flags > env COMPUTEMESH_* > TOML file > defaults."""

from pathlib import Path

import pytest
from pydantic import ValidationError

from computemesh.config import NodeSettings
from computemesh.errors import ConfigError


def write_toml(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "node.toml"
    path.write_text(body)
    return path


def test_defaults() -> None:
    settings = NodeSettings.load()
    assert settings.http_port == 8092
    assert settings.listen == ["/ip4/0.0.0.0/tcp/43905"]
    assert settings.online_window == 40.0


def test_flags_beat_env_beat_file_beat_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write_toml(tmp_path, 'http_port = 7001\nowner = "0xfile"\nrole = ["file"]\n')
    monkeypatch.setenv("COMPUTEMESH_OWNER", "0xenv")
    monkeypatch.setenv("COMPUTEMESH_ROLE", '["env"]')
    settings = NodeSettings.load(config, owner="0xflag", role=None)
    assert settings.owner == "0xflag"  # flag over env
    assert settings.role == ["env"]  # env over file
    assert settings.http_port == 7001  # file over default
    assert settings.record_ttl == 90.0  # default


def test_data_dir_expands_home() -> None:
    assert "~" not in str(NodeSettings.load(data_dir=Path("~/x")).data_dir)


def test_missing_config_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        NodeSettings.load(tmp_path / "absent.toml")


def test_unknown_key_in_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="http_prot"):
        NodeSettings.load(write_toml(tmp_path, "http_prot = 1\n"))


@pytest.mark.parametrize("placeholder", ["changeme", "secret", "  "])
def test_placeholder_admin_token_is_refused(placeholder: str) -> None:
    with pytest.raises(ValidationError, match="placeholder"):
        NodeSettings.load(admin_token=placeholder)


def test_refresh_defaults_to_a_third_of_the_ttl_and_must_fit_in_it() -> None:
    assert NodeSettings.load(record_ttl=9.0).refresh_seconds == 3.0
    with pytest.raises(ValidationError, match="at most half"):
        NodeSettings.load(record_ttl=9.0, record_refresh=5.0)


def test_log_level_is_checked_and_any_case_is_taken() -> None:
    assert NodeSettings.load(log_level="debug").log_level == "DEBUG"
    with pytest.raises(ValidationError, match="unknown log level 'BOGUS'"):
        NodeSettings.load(log_level="BOGUS")


def test_unparsable_sources_are_one_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ConfigError, match="not valid TOML"):
        NodeSettings.load(write_toml(tmp_path, "listen = [\n"))
    monkeypatch.setenv("COMPUTEMESH_BOOTSTRAP", "[not json")
    with pytest.raises(ConfigError, match=r'field "bootstrap".*environment are JSON'):
        NodeSettings.load()
