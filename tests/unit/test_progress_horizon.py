"""A projector process's shared caught-up samples: one per broker and database, so the runners
of two deployments in one process (the tests' environments) never prove their partitions
against each other's relay position."""

from __future__ import annotations

from infra.projector.progress import Horizon


def test_runners_of_one_deployment_share_a_sample_and_another_deployment_has_its_own() -> None:
    one = Horizon.of("127.0.0.1:1", "postgresql://h/one")
    assert Horizon.of("127.0.0.1:1", "postgresql://h/one") is one
    assert Horizon.of("127.0.0.1:1", "postgresql://h/two") is not one
    assert Horizon.of("127.0.0.1:2", "postgresql://h/one") is not one
