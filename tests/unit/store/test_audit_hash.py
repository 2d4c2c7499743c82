"""The hash of an audit entry is fixed by its canonical JSON, so any other tool can recompute it."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta, timezone

import pytest

from connector.store.audit import GENESIS_HASH, canonical_json, entry_hash
from connector.store.tables import AuditRow


def _entry(**overrides: object) -> AuditRow:
    fields: dict[str, object] = {
        "seq": 1,
        "at": datetime(2025, 3, 3, 9, 0, tzinfo=UTC),
        "change_key": "ECM-1",
        "tool": "jira",
        "actor": "lena",
        "action": "approved",
        "data": {"role": "lead", "note": "Zürich"},
        "prev_hash": GENESIS_HASH,
    }
    fields.update(overrides)
    return AuditRow(**fields)


def test_the_hash_is_sha256_of_sorted_compact_utf8_json() -> None:
    expected = (
        '{"action":"approved","actor":"lena","at":"2025-03-03T09:00:00.000000Z","change_key":"ECM-1",'
        '"data":{"note":"Zürich","role":"lead"},"prev_hash":"' + GENESIS_HASH + '","seq":1,"tool":"jira"}'
    )
    assert entry_hash(_entry()) == hashlib.sha256(expected.encode("utf-8")).hexdigest()


def test_the_same_moment_in_another_time_zone_hashes_the_same() -> None:
    paris = timezone(timedelta(hours=1))
    assert entry_hash(_entry(at=datetime(2025, 3, 3, 10, 0, tzinfo=paris))) == entry_hash(_entry())


@pytest.mark.parametrize(
    "change",
    [{"seq": 2}, {"actor": "sam"}, {"data": {"role": "lead", "note": "Zurich"}}, {"prev_hash": "1" * 64}],
)
def test_changing_any_field_changes_the_hash(change: dict[str, object]) -> None:
    assert entry_hash(_entry(**change)) != entry_hash(_entry())


def test_datetimes_inside_data_are_written_as_utc_iso_8601() -> None:
    assert canonical_json({"at": datetime(2025, 3, 3, 9, 0, 1, 5, tzinfo=UTC)}) == (
        '{"at":"2025-03-03T09:00:01.000005Z"}'
    )


def test_values_json_cannot_carry_are_refused() -> None:
    with pytest.raises(TypeError, match="set"):
        canonical_json({"x": {1, 2}})
