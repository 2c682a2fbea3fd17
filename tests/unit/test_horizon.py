"""The final horizon's bookkeeping, probe by probe (no database: the probes are given)."""

from __future__ import annotations

from infra.horizon import MAX_PENDING, Horizon, Probe


def fed(*probes: Probe) -> Horizon:
    h = Horizon()
    for p in probes:
        h.observe(p)
    return h


def test_an_id_is_not_final_before_a_later_xid_has_been_taken() -> None:
    h = fed(Probe(xmin=100, last=5), Probe(xmin=100, last=5))
    assert h.final == 0
    assert h.behind()


def test_an_id_is_final_once_nothing_older_than_the_later_xid_runs() -> None:
    h = fed(Probe(xmin=100, last=5), Probe(xmin=100, last=5, xid=110),
            Probe(xmin=111, last=5))
    assert h.final == 5
    assert not h.behind()


def test_the_xid_taken_with_an_id_does_not_make_that_id_final() -> None:
    # L read in the same statement as the xid may be newer than the xid: it waits for the next.
    h = fed(Probe(xmin=100, last=0), Probe(xmin=100, last=7, xid=110), Probe(xmin=200, last=7))
    assert h.final == 0


def test_a_writer_of_this_database_still_running_below_the_bound_holds_the_horizon() -> None:
    h = fed(Probe(xmin=100, last=5), Probe(xmin=100, last=5, xid=110, running=(107,)))
    assert h.final == 0
    h.observe(Probe(xmin=100, last=5, running=(107, 112)))
    assert h.final == 0
    h.observe(Probe(xmin=100, last=5, running=(112,)))
    assert h.final == 5, "a writer with a newer xid than the bound draws ids above 5 only"


def test_running_xids_compare_across_the_32_bit_wrap() -> None:
    bound = 2**32 + 10  # our xid8 just past a wrap; the writer's 32-bit xid from before it
    h = fed(Probe(xmin=0, last=3), Probe(xmin=0, last=3, xid=bound - 1, running=(2**32 - 5,)))
    assert h.final == 0
    h.observe(Probe(xmin=0, last=3, running=(20,)))
    assert h.final == 3


def test_pending_pairs_become_final_in_order_and_never_move_back() -> None:
    h = fed(Probe(xmin=100, last=5), Probe(xmin=100, last=9, xid=110, running=(105,)),
            Probe(xmin=100, last=12, xid=120, running=(105, 115)))
    assert list(h.pending) == [(5, 111), (9, 121)]
    h.observe(Probe(xmin=100, last=12, running=(115,)))
    assert h.final == 5
    h.observe(Probe(xmin=100, last=12, running=(105, 115)))
    assert h.final == 5, "a stale probe never lowers what is final"
    h.observe(Probe(xmin=130, last=12, running=(115,)))
    assert h.final == 9, "a cluster xmin past the bound is enough on its own"


def test_too_many_pending_pairs_merge_into_the_newest_which_only_waits_longer() -> None:
    h = Horizon()
    for i in range(MAX_PENDING + 10):
        h.observe(Probe(xmin=1, last=i + 1, xid=1000 + i, running=(1,)))
    assert len(h.pending) == MAX_PENDING
    assert h.final == 0
    h.observe(Probe(xmin=1, last=h.seen, running=()))
    assert h.final == MAX_PENDING + 9, "every L paired before is final with the newest"


def test_without_the_right_to_see_other_sessions_only_the_cluster_xmin_counts() -> None:
    h = fed(Probe(xmin=100, last=5), Probe(xmin=100, last=5, xid=110, running=None),
            Probe(xmin=110, last=5, running=None))
    assert h.final == 0
    h.observe(Probe(xmin=111, last=5, running=None))
    assert h.final == 5
