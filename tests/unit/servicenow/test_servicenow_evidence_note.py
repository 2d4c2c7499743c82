"""At close the evidence packet's hash and the newest audit checkpoint are written as one work note on
the change_request, once even when the action is retried."""

from __future__ import annotations

from pathlib import Path

from connector.mapping import load_mapping
from connector.outbox import RecordEvidence, Target
from connector.servicenow.actions import ServiceNowActions

MAPPING = Path(__file__).resolve().parents[3] / "mappings" / "servicenow.yaml"
CHANGE = Target("CHG0030001", "c" * 32)
SEAL = {
    "packet_hash": "ab" * 32,
    "entries": 14,
    "last_seq": 40,
    "checkpoint": {
        "seq": 38,
        "hash": "cd" * 32,
        "at": "2026-12-01T10:00:00.000000Z",
        "prev_seq": 20,
        "key_id": "0123456789abcdef",
        "signature": "c2lnbmF0dXJl",
    },
}


class FakeGateway:
    def __init__(self) -> None:
        self.notes: list[tuple[str, str]] = []

    def find_one(self, table: str, query: str):
        ref = query.split("valueLIKE")[1]
        return next(({"sys_id": "j"} for _, note in self.notes if ref in note), None)

    def add_work_note(self, sys_id: str, text: str, *, table: str) -> None:
        self.notes.append((sys_id, text))


def test_the_seal_is_one_work_note_naming_the_packet_hash_and_the_signed_checkpoint():
    gateway = FakeGateway()
    performer = ServiceNowActions(gateway, load_mapping(MAPPING).servicenow)  # type: ignore[arg-type]

    performer.perform(RecordEvidence(SEAL), CHANGE, "servicenow:CHG0030001:record_evidence:close")
    again = performer.perform(RecordEvidence(SEAL), CHANGE, "servicenow:CHG0030001:record_evidence:close")

    [(sys_id, note)] = gateway.notes
    assert sys_id == "c" * 32 and again["skipped"] == "work note exists"
    assert f"Evidence packet SHA-256: {'ab' * 32} (14 audit entries, the newest seq 40)." in note
    assert "Audit log checkpoint: seq 38, chain hash " + "cd" * 32 in note
    assert "by key 0123456789abcdef" in note and "Signature (Ed25519): c2lnbmF0dXJl" in note
