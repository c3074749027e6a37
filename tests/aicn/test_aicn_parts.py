"""The AICN pieces that need no network: CIDs, the error mapping, registrations, host info."""

import json
from pathlib import Path

import pytest

from computemesh.errors import ConfigError
from computemesh.hardware import host_info
from computemesh.ids import PeerId
from computemesh.node.api.aicn.content import ContentStore, cid_of, sniff
from computemesh.node.api.aicn.envelope import AicnError, forward_failure
from computemesh.node.api.aicn.info import _go_duration
from computemesh.protocol.aicn import Code
from computemesh.registry.own_record import OwnRecord
from computemesh.registry.projects import ProjectModel, ProjectStore, check_local_api, service_name
from computemesh.registry.service_urls import OwnEndpoints
from computemesh.routing.errors import DeadlineExceeded, NoProvider, UnknownPeer, Unreachable


def test_cids_are_ipfs_cidv1_raw_sha256() -> None:
    # What `ipfs add --cid-version 1 --raw-leaves` prints for these bytes.
    assert cid_of(b"") == "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"
    assert cid_of(b"hello world") == "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e"


def test_content_store_round_trip_and_refuses_paths(tmp_path: Path) -> None:
    store = ContentStore(tmp_path / "ipfs")
    png = b"\x89PNG\r\n\x1a\n" + b"x" * 10
    cid, name = store.put(png)
    assert store.get(cid) == png
    assert name.endswith(".png")
    assert len(name) == len("knhfkmpilha9l5f2.png")
    assert store.put(png)[0] == cid  # same bytes, same CID, stored once
    assert store.get("../../etc/passwd") is None
    assert store.get("b" + "a" * 58) is None
    assert sniff(b"\xff\xd8\xff\xe0") == ("jpg", "image/jpeg")


def test_forwarding_failures_get_the_aicn_codes() -> None:
    def code(error: Exception) -> tuple[Code, int]:
        assert isinstance(error, NoProvider | DeadlineExceeded | Unreachable | UnknownPeer)
        mapped: AicnError = forward_failure(error)
        return mapped.code, mapped.status

    timed_out = Unreachable("no answer")
    timed_out.__cause__ = TimeoutError()
    assert code(DeadlineExceeded("late")) == (Code.TIMEOUT, 504)
    assert code(timed_out) == (Code.TIMEOUT, 504)
    assert code(NoProvider("none")) == (Code.NO_PROVIDER, 503)
    assert code(UnknownPeer("who")) == (Code.ROUTING, 404)
    assert code(Unreachable("gone")) == (Code.ROUTING, 502)
    assert AicnError(Code.PARSE, "x").status == 400


def test_registrations_persist_and_become_services(tmp_path: Path) -> None:
    own = OwnRecord(peer_id=PeerId("12D3KooWtest"), ttl=60, version="t")
    store = ProjectStore(tmp_path)
    model = ProjectModel("DecentralGPT", "Llama3-70B", "http://127.0.0.1:1042/v1/chat/completions")
    store.register(own, [model])
    service = own.services[service_name("DecentralGPT", "Llama3-70B")]
    assert service.url == "http://127.0.0.1:1042"
    assert service.identity_group == ("project=DecentralGPT", "model=Llama3-70B", "type=0")

    reloaded = ProjectStore(tmp_path).load()
    assert reloaded.find("DecentralGPT", "Llama3-70B") == model
    assert reloaded.unregister(own, "DecentralGPT") == 1
    assert not own.services
    assert ProjectStore(tmp_path).load().models == {}


def test_only_local_apis_and_readable_files(tmp_path: Path) -> None:
    check_local_api("http://localhost:8000/v1/chat/completions")
    with pytest.raises(ConfigError):
        check_local_api("http://example.com/v1/chat/completions")
    with pytest.raises(ConfigError):
        check_local_api("ftp://127.0.0.1/x")
    with pytest.raises(ConfigError, match="not a usable URL"):
        check_local_api("http://127.0.0.1:abc/v1/chat/completions")
    with pytest.raises(ConfigError, match="own port 8092"):
        check_local_api("http://localhost:8092/v1", OwnEndpoints.of(8092, []))


@pytest.mark.parametrize("content", ["{broken", '{"project": "P"}', "42"])
def test_a_saved_file_of_the_wrong_shape_is_set_aside(
    tmp_path: Path, content: str, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "aicn_projects.json").write_text(content)
    assert ProjectStore(tmp_path).load().models == {}
    [aside] = tmp_path.glob("aicn_projects.json.invalid-*")
    assert aside.read_text() == content
    assert not (tmp_path / "aicn_projects.json").exists()
    assert "aicn_projects.json" in caplog.text
    assert "moved it to" in caplog.text


def test_saved_registrations_that_no_longer_validate_are_skipped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    good = {"project": "P", "model": "ok", "api": "http://127.0.0.1:1042/v1", "type": 0}
    entries = [
        good,
        {**good, "model": "port", "api": "http://127.0.0.1:abc/v1/chat/completions"},
        {**good, "model": "range", "api": "http://127.0.0.1:99999/v1"},
        {**good, "model": "ctl", "api": "http://\u007f@127.0.0.1/v1/chat/completions"},
        {**good, "model": "self", "api": "http://127.0.0.1:8092/v1"},
        {**good, "model": "kind", "type": 7},
        {**good, "extra": 1},
        "not an object",
    ]
    (tmp_path / "aicn_projects.json").write_text(json.dumps(entries))
    store = ProjectStore(tmp_path).load(OwnEndpoints.of(8092, []))
    assert [m.model for m in store.models.values()] == ["ok"]
    assert caplog.text.count("skipping a saved AI project registration") == len(entries) - 1


def test_host_info_withholds_disk_serials_unless_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    drive = tmp_path / "sda"
    (drive / "device").mkdir(parents=True)
    (drive / "queue").mkdir()
    (drive / "size").write_text("2048\n")
    (drive / "queue" / "rotational").write_text("0\n")
    (drive / "device" / "model").write_text("TOSHIBA-TR200\n")
    (drive / "device" / "serial").write_text("29KB71U8K46S\n")
    (tmp_path / "loop0").mkdir()
    monkeypatch.setattr(host_info, "SYS_BLOCK", tmp_path)

    [disk] = host_info.disks(serials=False)
    assert (disk.drive_type, disk.size_bytes, disk.model) == ("SSD", 1024 * 1024, "TOSHIBA-TR200")
    assert disk.serial_number == ""
    assert host_info.disks(serials=True)[0].serial_number == "29KB71U8K46S"
    info = host_info.host_info()
    assert info.cpu[0].total_threads >= 1
    assert info.memory.total_physical_bytes >= info.memory.total_usable_bytes > 0


def test_latency_reads_like_go_durations() -> None:
    assert _go_duration(None) == "0s"
    assert _go_duration(208.878448) == "208.878448ms"
    assert _go_duration(1.5) == "1.5ms"
