"""At close the ticket itself carries the evidence packet's hash and the newest signed audit checkpoint,
written as a comment through the outbox, and the packet exported afterwards has that same hash."""

from __future__ import annotations

import re
import threading

import pytest
from sqlalchemy import select

from connector.demo.stack import JiraStack
from connector.demo.story import JiraStory
from connector.evidence.integrity import packet_hash
from connector.evidence.packet import build_packet
from connector.evidence.rulebook import RuleBook
from connector.store.tables import OutboxRow

pytestmark = pytest.mark.slow


def sign_until(checkpointer, stop: threading.Event) -> None:
    while not stop.wait(0.2):
        checkpointer.sign()


def test_the_closed_ticket_carries_its_packet_hash_and_the_signed_checkpoint(tmp_path, database_url):
    with JiraStack(tmp_path, database_url=database_url) as stack:
        stop = threading.Event()
        signer = threading.Thread(target=sign_until, args=(stack.checkpointer, stop))  # as `ecm jobs` does
        signer.start()
        story = JiraStory(stack, say=lambda _line: None)
        try:
            result = story.play()
        finally:
            stop.set()
            signer.join()
        assert result.ok
        database = stack.connector.database

        def sealed():
            with database.session() as session:
                query = select(OutboxRow).where(OutboxRow.action == "record_evidence")
                return [(row.status, row.last_error) for row in session.scalars(query)]

        assert stack.settle(lambda: sealed() == [("done", None)]), sealed()
        with database.session() as session:
            packet = build_packet(session, result.key, RuleBook.from_connector(stack.connector))
        notes = [
            c.body for c in story.person("admin").comments(result.key) if "Evidence sealed at close" in c.body
        ]
    assert len(notes) == 1
    written = re.search(r"Evidence packet SHA-256: ([0-9a-f]{64})", notes[0]).group(1)
    assert written == packet_hash(packet) == packet["integrity"]["packet_hash"]
    assert re.search(
        r"Audit log checkpoint: seq \d+, chain hash [0-9a-f]{64}, signed .* by key [0-9a-f]{16}\.", notes[0]
    )
    assert "Signature (Ed25519): " in notes[0]
