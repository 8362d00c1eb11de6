"""How a claim's batchable messages become requests."""

from __future__ import annotations

from gateway.dispatch.batching import chunks


def _recipient(item: tuple[str, str]) -> str:
    return item[1]


def test_chunks_group_by_key_in_order_and_cut_at_the_size() -> None:
    keyed = [("a", ("1", "p1")), ("b", ("2", "p2")), ("a", ("3", "p3")), ("a", ("4", "p4")), ("a", ("5", "p5"))]

    assert [[i for i, _ in c] for c in chunks(keyed, 3, _recipient)] == [["1", "3", "4"], ["5"], ["2"]]


def test_a_recipient_named_twice_goes_in_another_request() -> None:
    keyed = [("a", ("1", "p1")), ("a", ("2", "p1")), ("a", ("3", "p2")), ("a", ("4", "p1"))]

    assert [[i for i, _ in c] for c in chunks(keyed, 10, _recipient)] == [["1", "3"], ["2"], ["4"]]
    assert [[i for i, _ in c] for c in chunks(keyed, 10)] == [["1", "2", "3", "4"]]  # the vendor does not care
