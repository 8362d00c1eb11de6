"""The LRU cache bounded by bytes, and its keys."""

from __future__ import annotations

from gateway.content.cache import ContentCache, Entry, cache_key


def test_key_is_the_source_and_the_sorted_parameters() -> None:
    assert cache_key("best", sorted([("page", "1"), ("category", "헤어 케어")])) == (
        'best[["category","헤어 케어"],["page","1"]]'.encode()
    )
    assert cache_key("best", []) == b"best[]"
    # Names and values cannot run into one another, nor into the source's name.
    assert cache_key("best", [("a", "1&b=2")]) != cache_key("best", [("a", "1"), ("b", "2")])
    assert cache_key("best", [("a=1", "")]) != cache_key("best", [("a", "1")])


def test_least_recently_used_goes_first_when_the_bytes_run_out() -> None:
    cache = ContentCache(capacity=30)
    cache.put(b"a", Entry(b"x" * 9, 0.0))  # 10 bytes with its key
    cache.put(b"b", Entry(b"x" * 9, 0.0))
    cache.put(b"c", Entry(b"x" * 9, 0.0))
    assert cache.get(b"a") is not None  # now b is the least recently used
    cache.put(b"d", Entry(b"x" * 9, 0.0))
    assert cache.get(b"b") is None
    assert [key for key in (b"a", b"c", b"d") if cache.get(key)] == [b"a", b"c", b"d"]
    assert (len(cache), cache.size) == (3, 30)


def test_a_replaced_entry_gives_its_bytes_back() -> None:
    cache = ContentCache(capacity=100)
    cache.put(b"a", Entry(b"x" * 50, 0.0))
    cache.put(b"a", Entry(b"x" * 9, 1.0))
    assert (len(cache), cache.size) == (1, 10)
    entry = cache.get(b"a")
    assert entry is not None
    assert entry.stored_at == 1.0


def test_an_entry_larger_than_the_whole_cache_is_not_kept_and_evicts_nothing() -> None:
    cache = ContentCache(capacity=20)
    cache.put(b"a", Entry(b"x" * 9, 0.0))
    cache.put(b"b", Entry(b"x" * 30, 0.0))
    assert cache.get(b"b") is None
    assert cache.get(b"a") is not None
    assert cache.size == 10
