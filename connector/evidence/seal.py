"""The evidence seal written on the ticket at a change's close: its packet's hash and the newest signed
checkpoint of the audit log, so the ticket itself anchors both (procedure §6: the ticket is the artifact).

The service queues a `RecordEvidence` outbox action when a change closes; the dispatcher fills its
seal with `seal()` just before performing it (in the jobs process, not the webhook's transaction, and
without walking the whole chain), and the tool's actions write `ticket_note()` as a comment or work note.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from connector.evidence.integrity import packet_hash
from connector.evidence.packet import build_packet
from connector.evidence.rulebook import RuleBook
from connector.store.checkpoints import newest_checkpoint

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from connector.bootstrap import Connector


def seal(session: Session, connector: Connector, tool: str, key: str) -> dict[str, Any]:
    packet = build_packet(session, key, RuleBook.from_connector(connector), tool=tool, whole_chain=False)
    newest = newest_checkpoint(session)
    entries = packet["audit"]["entries"]
    return {
        "packet_hash": packet_hash(packet),
        "entries": len(entries),
        "last_seq": entries[-1]["seq"] if entries else None,
        "checkpoint": newest.as_json() if newest else None,
    }


def ticket_note(key: str, sealed: Mapping[str, Any]) -> str:
    """The note written on change `key`: what `seal()` returned, in words."""
    lines = [
        "Evidence sealed at close (ENG-PROC-004 §6).",
        f"Evidence packet SHA-256: {sealed['packet_hash']} ({sealed['entries']} audit entries, "
        f"the newest seq {sealed['last_seq']}).",
    ]
    checkpoint = sealed.get("checkpoint")
    if checkpoint:
        lines += [
            f"Audit log checkpoint: seq {checkpoint['seq']}, chain hash {checkpoint['hash']}, "
            f"signed {checkpoint['at']} by key {checkpoint['key_id']}.",
            f"Signature (Ed25519): {checkpoint['signature']}",
        ]
    else:
        lines.append("Audit log checkpoint: none signed yet.")
    lines.append(f"Check the packet with: ecm evidence verify {key}.json --public-key KEY.pem")
    return "\n".join(lines)
