"""The key-value contract, run unchanged against every backend (see the `store` fixture)."""

from __future__ import annotations

from typing import Any

import pytest

from skillswap.store import (
    MAX_KEY_BYTES,
    MAX_VALUE_BYTES,
    Store,
    StoreLimitError,
    check_limits,
    open_store,
)

NESTED: dict[str, Any] = {
    "name": "Zoë ☕ 日本語 🎸",
    "n": 3,
    "price": 12.5,
    "ok": True,
    "none": None,
    "tags": ["a", "b", {"deep": [1, 2, [3, {"x": "y"}]]}],
    "quote": 'she said "hi" & left\\ \n\t<tag>',
}


def test_store_satisfies_protocol(store: Store) -> None:
    assert isinstance(store, Store)
    assert isinstance(store.name, str)
    assert store.name


def test_get_missing_is_none(store: Store) -> None:
    assert store.get("nope") is None


@pytest.mark.parametrize(
    "value", [NESTED, [1, "two", None], "just text", "", 0, -7, 3.25, True, False, {}, []]
)
def test_round_trip(store: Store, value: Any) -> None:
    store.put("k", value)
    assert store.get("k") == value
    assert type(store.get("k")) is type(value)


def test_put_overwrites_and_delete_removes(store: Store) -> None:
    store.put("k", {"v": 1})
    store.put("k", {"v": 2})
    assert store.get("k") == {"v": 2}
    store.delete("k")
    assert store.get("k") is None
    assert store.keys() == []


def test_delete_missing_is_not_an_error(store: Store) -> None:
    store.delete("never-there")


@pytest.mark.parametrize(
    "key",
    [
        "user:Zoë",
        "skill:日本語",
        "emoji:🎸",
        "with space",
        "slash/and?query#frag",
        "percent%20not-decoded",
        "plus+sign&amp=eq",
        "under_score",
        "x" * MAX_KEY_BYTES,
    ],
)
def test_awkward_keys_round_trip(store: Store, key: str) -> None:
    store.put(key, {"key": key})
    assert store.get(key) == {"key": key}
    assert store.get_many([key]) == {key: {"key": key}}
    assert store.keys() == [key]
    store.delete(key)
    assert store.get(key) is None


def test_get_many_skips_missing_and_duplicates(store: Store) -> None:
    store.put_many({"a": 1, "b": [2], "c": {"three": 3}})
    assert store.get_many(["a", "missing", "c", "a"]) == {"a": 1, "c": {"three": 3}}
    assert store.get_many([]) == {}
    assert store.get_many(iter(["b"])) == {"b": [2]}


def test_get_many_beyond_one_batch(store: Store) -> None:
    items = {f"item:{i:04d}": {"i": i} for i in range(600)}
    store.put_many(items)
    wanted = [*items, *(f"ghost:{i}" for i in range(20))]
    assert store.get_many(wanted) == items


def test_put_many_writes_and_overwrites(store: Store) -> None:
    store.put("b", "old")
    store.put_many({"a": 1, "b": "new", "ü": ["x"]})
    assert store.get_many(["a", "b", "ü"]) == {"a": 1, "b": "new", "ü": ["x"]}
    store.put_many({})
    assert store.keys() == ["a", "b", "ü"]


KEYS_IN_BYTE_ORDER = [
    "A",
    "Z",
    "_",
    "a",
    "a%b",
    "a_",
    "a_b",
    "a_z",
    "aa",
    "ab",
    "a~",
    "b",
    "é",
    "日",
    "🎸",
]


def test_keys_in_byte_order(store: Store) -> None:
    # Written shuffled; byte order puts capitals before "_" before lower case before non-ASCII.
    assert sorted(KEYS_IN_BYTE_ORDER, key=lambda k: k.encode("utf-8")) == KEYS_IN_BYTE_ORDER
    store.put_many({key: key for key in reversed(KEYS_IN_BYTE_ORDER[::2])})
    store.put_many({key: key for key in KEYS_IN_BYTE_ORDER[1::2]})
    assert store.keys() == KEYS_IN_BYTE_ORDER
    assert store.keys("") == KEYS_IN_BYTE_ORDER


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [
        # "_" and "%" are literal characters, not LIKE wildcards.
        ("a_", ["a_", "a_b", "a_z"]),
        ("a%", ["a%b"]),
        ("_", ["_"]),
        # Prefixes are case-sensitive.
        ("A", ["A"]),
        ("a", ["a", "a%b", "a_", "a_b", "a_z", "aa", "ab", "a~"]),
        ("ab", ["ab"]),
        ("a~", ["a~"]),
        ("é", ["é"]),
        ("🎸", ["🎸"]),
        ("c", []),
        ("a_bc", []),
    ],
)
def test_keys_prefix_is_literal(store: Store, prefix: str, expected: list[str]) -> None:
    store.put_many({key: 1 for key in KEYS_IN_BYTE_ORDER})
    assert store.keys(prefix) == expected


def test_keys_prefix_boundary_with_highest_code_point(store: Store) -> None:
    top = chr(0x10FFFF)
    store.put_many({f"p{top}": 1, f"p{top}x": 2, "q": 3, "p": 4})
    assert store.keys(f"p{top}") == [f"p{top}", f"p{top}x"]
    assert store.keys("p") == ["p", f"p{top}", f"p{top}x"]


def test_keys_start_and_limit(store: Store) -> None:
    names = [f"user:{n}" for n in ("alice", "bob", "carol", "dave", "erin")]
    store.put_many({name: 1 for name in [*names, "userx", "skill:a", "zzz"]})
    assert store.keys("user:", limit=2) == names[:2]
    # start is inclusive, and pages resume from the last key seen.
    assert store.keys("user:", start="user:bob") == names[1:]
    assert store.keys("user:", start="user:bz", limit=2) == names[2:4]
    assert store.keys("user:", start="user:erin", limit=10) == names[4:]
    assert store.keys("user:", start="user:f") == []
    # A start before the prefix does not widen it; one after every key yields nothing.
    assert store.keys("user:", start="a") == names
    assert store.keys("user:", start="zz") == []
    assert store.keys("user:", limit=0) == []
    assert store.keys(start="userx") == ["userx", "zzz"]


def test_keys_pagination_visits_everything_once(store: Store) -> None:
    expected = [f"k:{i:03d}" for i in range(57)]
    store.put_many(dict.fromkeys(expected, 0))
    seen: list[str] = []
    start: str | None = None
    while True:
        page = store.keys("k:", start=start, limit=10)
        page = [key for key in page if key != start]
        if not page:
            break
        seen.extend(page)
        start = page[-1]
    assert seen == expected


def test_put_new(store: Store) -> None:
    assert store.put_new("slot", {"by": "first"}) is True
    assert store.put_new("slot", {"by": "second"}) is False
    assert store.get("slot") == {"by": "first"}
    store.delete("slot")
    assert store.put_new("slot", {"by": "third"}) is True
    assert store.get("slot") == {"by": "third"}


def test_update_missing_key_sees_none(store: Store) -> None:
    seen: list[Any] = []

    def create(current: Any) -> Any:
        seen.append(current)
        return {"count": 1}

    assert store.update("counter", create) == {"count": 1}
    assert seen == [None]
    assert store.get("counter") == {"count": 1}


def test_update_read_modify_write(store: Store) -> None:
    store.put("list", ["a"])
    assert store.update("list", lambda cur: [*cur, "b"]) == ["a", "b"]
    assert store.get("list") == ["a", "b"]


def test_update_returning_none_deletes(store: Store) -> None:
    store.put("k", 1)
    assert store.update("k", lambda cur: None) is None
    assert store.get("k") is None
    assert store.keys() == []
    # And on a missing key it writes nothing.
    assert store.update("k", lambda cur: None) is None
    assert store.keys() == []


class Refused(Exception):
    pass


def test_update_fn_raising_writes_nothing(store: Store) -> None:
    store.put("k", {"v": 1})

    def refuse(current: Any) -> Any:
        raise Refused("slot already booked")

    with pytest.raises(Refused, match="already booked"):
        store.update("k", refuse)
    assert store.get("k") == {"v": 1}
    with pytest.raises(Refused):
        store.update("missing", refuse)
    assert store.get("missing") is None
    # The lock or transaction was released: the next write goes through.
    assert store.update("k", lambda cur: {"v": cur["v"] + 1}) == {"v": 2}


def test_key_limit(store: Store) -> None:
    ok, too_long = "k" * MAX_KEY_BYTES, "k" * (MAX_KEY_BYTES + 1)
    store.put(ok, 1)
    # Counted in UTF-8 bytes, not characters: 334 three-byte characters are 1,002 bytes.
    for bad in (too_long, "日" * 334, ""):
        with pytest.raises(StoreLimitError):
            store.put(bad, 1)
        with pytest.raises(StoreLimitError):
            store.put_new(bad, 1)
        with pytest.raises(StoreLimitError):
            store.update(bad, lambda cur: 1)
        with pytest.raises(StoreLimitError):
            store.put_many({"fine": 1, bad: 1})
    assert store.keys() == [ok]


def test_value_limit(store: Store) -> None:
    # A JSON string's encoding adds its two quotes.
    at_limit = "v" * (MAX_VALUE_BYTES - 2)
    store.put("big", at_limit)
    assert store.get("big") == at_limit
    over = "v" * (MAX_VALUE_BYTES - 1)
    with pytest.raises(StoreLimitError, match="limit"):
        store.put("k", over)
    with pytest.raises(StoreLimitError):
        store.put_new("k", over)
    with pytest.raises(StoreLimitError):
        store.put_many({"k": over})
    with pytest.raises(StoreLimitError):
        store.update("big", lambda cur: cur + "vv")
    assert store.get("k") is None
    assert store.get("big") == at_limit
    assert isinstance(StoreLimitError("x"), ValueError)


def test_check_limits_names_the_limit() -> None:
    with pytest.raises(StoreLimitError, match="1000"):
        check_limits("k" * 1001)
    with pytest.raises(StoreLimitError, match=str(MAX_VALUE_BYTES)):
        check_limits("k", b"x" * (MAX_VALUE_BYTES + 1))


def test_stats_and_usage_count_keys_and_bytes(store: Store) -> None:
    """`stats` is exact; `usage` is what capacity checks read, cheaply, and says the same."""
    assert store.stats().keys == 0
    assert store.usage().keys == 0
    store.put_many({"a": "x", "bb": [1, 2]})
    store.update("c", lambda _: {"n": 1})
    store.put_new("d", 1)
    store.delete("bb")
    result = store.stats()
    assert result.keys == 3
    assert result.bytes >= len("a") + len('"x"') + len("c") + len('{"n":1}')
    assert store.usage() == result


def test_a_value_over_the_configured_maximum_is_refused_before_anything_is_written(
    store_target: tuple[str, dict[str, Any]],
) -> None:
    url, options = store_target
    small = open_store(url, **{**options, "max_value_bytes": 100})
    try:
        with pytest.raises(StoreLimitError) as refused:
            small.put("big", "x" * 200)
        assert refused.value.key == "big"
        small.put("ok", "x" * 50)
        with pytest.raises(StoreLimitError):
            small.update("ok", lambda value: value * 4)
        with pytest.raises(StoreLimitError):
            small.put_new("new", "x" * 200)
        with pytest.raises(StoreLimitError):
            small.put_many({"fine": 1, "big": "x" * 200})
        assert small.get("big") is None
        assert small.get("ok") == "x" * 50
        assert small.get("new") is None
    finally:
        small.close()


def test_second_handle_sees_writes(store: Store, store_target: tuple[str, dict[str, Any]]) -> None:
    url, options = store_target
    other = open_store(url, **options)
    try:
        store.put("shared", {"from": "first"})
        assert other.get("shared") == {"from": "first"}
        assert other.put_new("shared", 1) is False
        other.update("shared", lambda cur: {**cur, "seen": True})
        assert store.get("shared") == {"from": "first", "seen": True}
    finally:
        other.close()
