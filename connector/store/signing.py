"""The audit signing key: Ed25519, kept in a file the database never sees.

    key = load_or_create_signing_key(path)      # the service (jobs process): signs checkpoints
    public = load_public_key(path)              # an auditor: a PEM public key, or the private key file
    signature = sign(key, payload)               # base64 of the Ed25519 signature of canonical JSON
    verify_signature(public, payload, signature) -> bool

`key_id(public)` is the first 16 hex digits of the SHA-256 of the raw public key, stored beside every
checkpoint so a packet or a verification names the key it expects. The private key is written with mode
0600 and never reaches a log line or an error message (only its path and key id do).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import os
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from connector.store.audit import canonical_json

log = logging.getLogger("connector.audit")

DEFAULT_KEY_NAME = "audit-signing-key.pem"


class SigningKeyError(Exception):
    """A key file that cannot be read or is not an Ed25519 key (the message names the file, not the key)."""


def load_or_create_signing_key(path: Path, *, created_warning: bool = True) -> Ed25519PrivateKey:
    """The private key in `path`; a new one is written there (mode 0600) when the file does not exist."""
    if path.exists():
        return load_signing_key(path)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(pem)
        file.flush()
        os.fsync(file.fileno())
    if created_warning:
        log.warning(
            "audit-signing-key-created",
            extra={
                "path": str(path),
                "key_id": key_id(key.public_key()),
                "advice": "production keeps the key outside the data directory (ECM_AUDIT_SIGNING_KEY_FILE)",
            },
        )
    return key


def load_signing_key(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except OSError as exc:
        raise SigningKeyError(f"{path}: cannot read the audit signing key: {exc.strerror}") from None
    except (ValueError, TypeError):
        raise SigningKeyError(f"{path}: not a PEM private key without a passphrase") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError(f"{path}: not an Ed25519 key")
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    """A PEM public key, or the public half of a PEM private key file."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SigningKeyError(f"{path}: cannot read the key: {exc.strerror}") from None
    if b"PRIVATE KEY" in data:
        return load_signing_key(path).public_key()
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError):
        raise SigningKeyError(f"{path}: not a PEM public key") from None
    if not isinstance(key, Ed25519PublicKey):
        raise SigningKeyError(f"{path}: not an Ed25519 key")
    return key


def public_pem(key: Ed25519PublicKey) -> str:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def key_id(key: Ed25519PublicKey) -> str:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def sign(key: Ed25519PrivateKey, payload: dict[str, Any]) -> str:
    return base64.b64encode(key.sign(canonical_json(payload).encode("utf-8"))).decode("ascii")


def verify_signature(key: Ed25519PublicKey, payload: dict[str, Any], signature: str) -> bool:
    try:
        key.verify(base64.b64decode(signature, validate=True), canonical_json(payload).encode("utf-8"))
    except (InvalidSignature, binascii.Error, ValueError, TypeError):
        return False
    return True
