"""A packet carries its own hash, the signed checkpoint that covers it and the audit entries leading there;
`ecm evidence verify FILE --public-key KEY` checks it with nothing else, and names what was tampered."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from connector.cli import cli


@pytest.fixture
def ecm(database_url, tmp_path, monkeypatch):
    monkeypatch.setenv("ECM_DATABASE_URL", database_url)
    monkeypatch.setenv("ECM_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("ECM_MAPPINGS", raising=False)
    monkeypatch.delenv("ECM_AUDIT_SIGNING_KEY_FILE", raising=False)

    def run(*args):
        return CliRunner().invoke(cli, list(args), catch_exceptions=False)

    return run


@pytest.fixture
def exported(ecm, drive, tmp_path: Path):
    """The packet of a closed change as JSON and HTML files, and the audit public key beside them."""
    drive.whole_lifecycle()
    assert ecm("audit", "checkpoint").exit_code == 0
    public = tmp_path / "audit-public.pem"
    public.write_text(ecm("audit", "public-key").stdout)
    for fmt in ("json", "html"):
        assert (
            ecm("evidence", "EMG-1", "--format", fmt, "--out", str(tmp_path / f"EMG-1.{fmt}")).exit_code == 0
        )
    return tmp_path / "EMG-1.json", tmp_path / "EMG-1.html", public


def verify(ecm, packet: Path, public: Path):
    return ecm("evidence", "verify", str(packet), "--public-key", str(public))


def rewrite(path: Path, change) -> None:
    packet = json.loads(path.read_text())
    change(packet)
    path.write_text(json.dumps(packet))


def test_an_untouched_packet_verifies_offline_as_json_and_as_html(ecm, exported) -> None:
    as_json, as_html, public = exported
    for packet in (as_json, as_html):
        result = verify(ecm, packet, public)
        assert result.exit_code == 0, result.output
        assert (
            result.output.startswith("OK: packet EMG-1 sha256 ")
            and "covered by checkpoint seq=" in result.output
        )


def test_the_packet_hash_is_the_same_when_a_closed_change_is_exported_again(ecm, exported, tmp_path) -> None:
    as_json, _, _ = exported
    again = json.loads(ecm("evidence", "EMG-1").stdout)
    assert again["integrity"]["packet_hash"] == json.loads(as_json.read_text())["integrity"]["packet_hash"]


def test_an_edited_approver_fails_naming_the_changed_content(ecm, exported) -> None:
    as_json, _, public = exported
    rewrite(as_json, lambda p: p["approvals"][0].update(approver="someone-else"))
    result = verify(ecm, as_json, public)
    assert result.exit_code == 1
    assert "FAILED: changed: the packet's content does not match its packet_hash" in result.output


def test_an_edited_audit_entry_with_a_recomputed_packet_hash_still_fails(ecm, exported) -> None:
    from connector.evidence.integrity import packet_hash

    as_json, _, public = exported

    def edit(packet):
        packet["audit"]["entries"][0]["actor"] = "someone-else"
        packet["integrity"]["packet_hash"] = packet_hash(packet)

    rewrite(as_json, edit)
    result = verify(ecm, as_json, public)
    assert result.exit_code == 1
    assert "differs from the proof" in result.output


def test_a_forged_checkpoint_fails(ecm, exported) -> None:
    as_json, _, public = exported
    rewrite(
        as_json, lambda p: p["integrity"]["checkpoint"].update(seq=p["integrity"]["checkpoint"]["seq"] + 1)
    )
    result = verify(ecm, as_json, public)
    assert result.exit_code == 1 and "FAILED: forged: checkpoint seq=" in result.output


def test_a_tampered_html_page_fails(ecm, exported) -> None:
    _, as_html, public = exported
    page = as_html.read_text()
    as_html.write_text(page.replace('"stage": "closed"', '"stage": "deployed"', 1))
    assert page != as_html.read_text()
    result = verify(ecm, as_html, public)
    assert result.exit_code == 1 and "does not match its packet_hash" in result.output


def test_a_packet_not_yet_covered_by_a_checkpoint_says_so(ecm, drive, tmp_path) -> None:
    drive.whole_lifecycle()
    ecm("audit", "checkpoint")
    public = tmp_path / "pub.pem"
    public.write_text(ecm("audit", "public-key").stdout)
    packet = json.loads(ecm("evidence", "EMG-1").stdout)
    packet["integrity"]["checkpoint"] = None
    path = tmp_path / "p.json"
    path.write_text(json.dumps(packet))
    result = verify(ecm, path, public)
    assert result.exit_code == 1 and "FAILED: not covered" in result.output


def test_a_packet_checked_with_another_key_fails(ecm, exported, tmp_path) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from connector.store.signing import public_pem

    as_json, _, _ = exported
    other = tmp_path / "other.pem"
    other.write_text(public_pem(Ed25519PrivateKey.generate().public_key()))
    result = verify(ecm, as_json, other)
    assert result.exit_code == 1 and "does not verify with the public key" in result.output
