"""The recordings the replay tests answer from are the project's shared ones."""

from __future__ import annotations

from tests.support.recordings import AQL_FIXED, AS_RELEASED, SHARED_VECTORS, VECTORS, load_recording


def test_both_runs_hold_every_exchange_in_the_same_order() -> None:
    released, fixed = load_recording(AS_RELEASED), load_recording(AQL_FIXED)
    assert [e["request"]["path"] for e in released] == [e["request"]["path"] for e in fixed]


def test_the_copy_matches_the_shared_recordings_where_they_are_beside_the_repository() -> None:
    for name in (AS_RELEASED, AQL_FIXED):
        shared = SHARED_VECTORS / name
        if shared.is_file():  # a fresh clone on its own has only the copy
            assert (VECTORS / name).read_bytes() == shared.read_bytes(), (
                f"tests/recordings/{name} differs from {shared}: copy the shared one over"
            )
