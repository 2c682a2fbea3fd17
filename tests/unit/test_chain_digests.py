"""The hash chain's arithmetic: what a digest and a checkpoint signature cover."""

from __future__ import annotations

import uuid

from projections.chain import GENESIS, canonical, link, sign

STREAM = uuid.UUID("0b9d1a8e-3f2c-4c1e-8a5d-2e7f6c9b4a31")


def test_moving_bytes_between_the_topic_and_the_state_changes_the_canonical_bytes() -> None:
    assert canonical(STREAM, 1, "a.B", b"xy", 7) != canonical(STREAM, 1, "a.Bx", b"y", 7)


def test_every_covered_part_changes_the_digest() -> None:
    base = link(GENESIS, STREAM, 1, "a.B", b"{}", 7)
    assert len({base, link(GENESIS, STREAM, 2, "a.B", b"{}", 7),
                link(GENESIS, STREAM, 1, "a.C", b"{}", 7),
                link(GENESIS, STREAM, 1, "a.B", b"{ }", 7),
                link(GENESIS, STREAM, 1, "a.B", b"{}", 8),
                link(GENESIS, uuid.uuid4(), 1, "a.B", b"{}", 7),
                link(base, STREAM, 1, "a.B", b"{}", 7)}) == 7


def test_a_checkpoint_signature_depends_on_the_key_and_on_what_it_signs() -> None:
    org, digest = uuid.uuid4(), bytes(range(32))
    signature = sign(b"key", org, 3, 9, digest)
    assert signature == sign(b"key", org, 3, 9, digest)
    assert signature not in {sign(b"other", org, 3, 9, digest), sign(b"key", org, 4, 9, digest),
                             sign(b"key", org, 3, 10, digest),
                             sign(b"key", uuid.uuid4(), 3, 9, digest)}
