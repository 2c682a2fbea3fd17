"""The local broker's cluster id never reads as a command-line option."""
import uuid

import pytest

from infra.local import kafka


def test_a_cluster_id_is_22_base64url_characters() -> None:
    text = kafka.cluster_id()
    assert len(text) == 22
    assert set(text) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def test_an_id_that_would_start_with_a_dash_is_drawn_again(monkeypatch: pytest.MonkeyPatch) -> None:
    # 0xf8 encodes as "-" first in base64url; the second draw starts with "A".
    draws = iter([uuid.UUID(bytes=b"\xf8" + bytes(15)), uuid.UUID(bytes=bytes(16))])
    monkeypatch.setattr(kafka.uuid, "uuid4", lambda: next(draws))
    assert kafka.cluster_id() == "A" * 22
