"""Which request labels the JSON middleware rewrites, and which it keeps."""

import pytest

from computemesh.json_bodies import relabelled


def label_of(content_type: bytes | None, method: str = "POST") -> bytes | None:
    headers = [(b"host", b"x")] + ([(b"content-type", content_type)] if content_type else [])
    scope = relabelled({"type": "http", "method": method, "headers": headers})
    labels = [value for name, value in scope["headers"] if name == b"content-type"]
    assert len(labels) == 1
    return labels[0]


@pytest.mark.parametrize(
    "sent",
    [None, b"application/x-www-form-urlencoded", b"text/plain; charset=utf-8", b"", b"weird"],
)
def test_bodies_labelled_otherwise_are_read_as_json(sent: bytes | None) -> None:
    assert label_of(sent) == b"application/json"


@pytest.mark.parametrize(
    "sent",
    [
        b"multipart/form-data; boundary=x",
        b"Multipart/Mixed",
        b"application/json; charset=utf-8",
        b"application/merge-patch+json",
    ],
)
def test_uploads_and_json_keep_their_label(sent: bytes) -> None:
    assert label_of(sent) == sent
