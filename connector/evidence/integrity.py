"""The integrity section of an evidence packet, and its verification offline with the public key alone.

    packet["integrity"] = integrity(session, packet)
    problems = verify_packet(packet, public_key)      # [] when the packet holds

`packet_hash` is the SHA-256 of the canonical JSON (sorted keys, no spaces, UTF-8) of the packet without
`generated_at`, `audit.chain` (the state of the whole log when the packet was made) and `integrity`
itself, so a closed change's packet has the same hash whenever it is exported. The covering checkpoint
is the first signed checkpoint at or after the change's newest audit entry. A hash chain proves that an
entry leads to a checkpoint only with every entry's content, so `proof` carries each entry from the
change's first one to the checkpoint — other changes' entries between them included.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from connector.store.audit import canonical_json, entry_dict, entry_hash, segment
from connector.store.checkpoints import Checkpoint, covering_checkpoint
from connector.store.signing import key_id, verify_signature

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

UNHASHED = ("generated_at", "integrity")


def packet_hash(packet: dict[str, Any]) -> str:
    content = {k: v for k, v in packet.items() if k not in UNHASHED}
    if isinstance(content.get("audit"), dict):
        content["audit"] = {k: v for k, v in content["audit"].items() if k != "chain"}
    return hashlib.sha256(canonical_json(content).encode("utf-8")).hexdigest()


def integrity(session: Session, packet: dict[str, Any]) -> dict[str, Any]:
    seqs = [entry["seq"] for entry in packet["audit"]["entries"]]
    section: dict[str, Any] = {"packet_hash": packet_hash(packet), "checkpoint": None, "proof": []}
    if not seqs:
        return section
    covering = covering_checkpoint(session, max(seqs))
    if covering is None:
        return section
    section["checkpoint"] = covering.as_json()
    section["proof"] = [entry_dict(row) for row in segment(session, min(seqs), covering.seq)]
    return section


def verify_packet(packet: object, public_key: Ed25519PublicKey) -> list[str]:
    """What does not hold in `packet`, in words; [] when its hash, checkpoint and proof all hold."""
    if not isinstance(packet, dict) or not isinstance(packet.get("integrity"), dict):
        return ["not an evidence packet with an integrity section"]
    section = packet["integrity"]
    problems = []
    if section.get("packet_hash") != packet_hash(packet):
        problems.append("changed: the packet's content does not match its packet_hash")
    try:
        checkpoint = Checkpoint.from_json(section.get("checkpoint"))
    except ValueError:
        return [*problems, "not covered: the packet carries no signed checkpoint (sign one, export again)"]
    if checkpoint.key_id != key_id(public_key) or not verify_signature(
        public_key, checkpoint.payload(), checkpoint.signature
    ):
        problems.append(f"forged: checkpoint seq={checkpoint.seq} does not verify with the public key")
    problems += _proof_problems(packet, section.get("proof"), checkpoint)
    return problems


def _proof_problems(packet: dict[str, Any], proof: Any, checkpoint: Checkpoint) -> list[str]:
    if not isinstance(proof, list) or not proof or not all(isinstance(e, dict) for e in proof):
        return ["no proof: the packet carries no audit entries leading to its checkpoint"]
    problems, previous = [], None
    for entry in proof:
        try:
            recomputed = _recomputed(entry)
        except (KeyError, TypeError, ValueError):
            return [*problems, f"changed: proof entry seq={entry.get('seq')} is not an audit entry"]
        if recomputed != entry.get("hash"):
            problems.append(f"changed: audit entry seq={entry.get('seq')} does not match its hash")
        follows = (previous["hash"], previous["seq"] + 1) if previous else None
        if previous is not None and (entry["prev_hash"], entry["seq"]) != follows:
            problems.append(f"removed or inserted: entry seq={entry['seq']} does not follow the one before")
        previous = entry
    last = proof[-1]
    if (last.get("seq"), last.get("hash")) != (checkpoint.seq, checkpoint.hash):
        problems.append(f"not covered: the proof does not end at checkpoint seq={checkpoint.seq}")
    by_seq = {e.get("seq"): e for e in proof}
    for entry in packet.get("audit", {}).get("entries", []):
        shown = {k: v for k, v in entry.items() if k != "hash_ok"}
        if by_seq.get(shown.get("seq")) != shown:
            problems.append(f"changed: the packet's entry seq={shown.get('seq')} differs from the proof")
    return problems


class _Entry:
    """An exported entry read back into the attributes `entry_hash` reads."""

    def __init__(self, entry: dict[str, Any]) -> None:
        self.seq, self.change_key, self.tool = entry["seq"], entry["change_key"], entry["tool"]
        self.actor, self.action, self.data = entry["actor"], entry["action"], entry["data"]
        self.prev_hash = entry["prev_hash"]
        self.at = datetime.fromisoformat(entry["at"])


def _recomputed(entry: dict[str, Any]) -> str:
    return entry_hash(_Entry(entry))  # type: ignore[arg-type]
