"""docs/configuration.md is written from the settings classes and names every setting."""

from pathlib import Path

import pytest
from pydantic_settings import BaseSettings

from computemesh.cli.configuration_docs import render
from computemesh.config import GatewaySettings, NodeSettings
from computemesh.config.fields import settings_of
from computemesh.config.serve import ServeSettings

PAGE = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"
CLASSES = [NodeSettings, ServeSettings, GatewaySettings]


def test_the_committed_page_is_what_the_settings_write() -> None:
    assert PAGE.read_text() == render(), (
        "docs/configuration.md is stale: run .venv/bin/python scripts/write-configuration-docs.py"
    )


@pytest.mark.parametrize("settings", CLASSES, ids=lambda cls: cls.__name__)
def test_every_setting_has_a_description(settings: type[BaseSettings]) -> None:
    undescribed = [s.key for s in settings_of(settings) if not s.description.strip()]
    assert undescribed == []


@pytest.mark.parametrize("settings", [NodeSettings, GatewaySettings], ids=lambda c: c.__name__)
def test_every_setting_and_its_environment_names_are_on_the_page(
    settings: type[BaseSettings],
) -> None:
    page = render()
    for setting in settings_of(settings):
        assert f"| `{setting.key}` |" in page
        for name in setting.env:
            assert f"`{name}`" in page


def test_the_environment_names_are_the_ones_pydantic_reads() -> None:
    by_key = {s.key: s.env for s in settings_of(GatewaySettings) + settings_of(NodeSettings)}
    assert by_key["ocf_head_url"] == ("OCF_HEAD_URL",)  # the OCF proxy's name, unprefixed
    assert by_key["key_rpm"] == ("COMPUTEMESH_GATEWAY_KEY_RPM",)
    assert by_key["engine.threads"] == ("COMPUTEMESH_ENGINE__THREADS",)
