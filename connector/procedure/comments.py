"""Comment commands, the same in Jira and ServiceNow.

    /approve [lead|security]
    /reject <reason>
    /approve-verbal @user lead|security via <channel>
    /confirm
    /peer-reviewed
    /security-reviewed
    /pr <url>
    /docs <url>
    /deploy, /close      (where only the connector may take the guarded step)

`parse_comment` reads the first line of a comment that starts with a command word and returns a
typed command text, `None` for an ordinary comment, or `CommandError` with a sentence saying why.
The words themselves come from the mapping (an admin may rename them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from connector.procedure.model import ReviewKind, Role, Stage

DEFAULT_WORDS = {
    "approve": "/approve",
    "reject": "/reject",
    "approve_verbal": "/approve-verbal",
    "confirm": "/confirm",
    "peer_reviewed": "/peer-reviewed",
    "security_reviewed": "/security-reviewed",
    "pr": "/pr",
    "docs": "/docs",
    "deploy": "/deploy",
    "close": "/close",
}


@dataclass(frozen=True)
class ApproveText:
    role: Role | None


@dataclass(frozen=True)
class RejectText:
    reason: str


@dataclass(frozen=True)
class VerbalApprovalText:
    approver: str  # as written after "@": a user name, email, or Jira mention id
    role: Role
    channel: str


@dataclass(frozen=True)
class ConfirmText:
    pass


@dataclass(frozen=True)
class ReviewedText:
    kind: ReviewKind


@dataclass(frozen=True)
class LinkText:
    kind: str  # "pr" | "docs"
    url: str


@dataclass(frozen=True)
class StepText:
    """A request that the connector take a guarded step (deploy, close) once the rules hold."""

    stage: Stage


@dataclass(frozen=True)
class CommandError:
    command: str
    reason: str


CommentCommand = (
    ApproveText | RejectText | VerbalApprovalText | ConfirmText | ReviewedText | LinkText | StepText
)

_ROLES = {"lead": Role.LEAD, "security": Role.SECURITY, "sec": Role.SECURITY}
# Jira wiki mentions ([~accountid:abc] / [~name]) and plain @name mentions.
_MENTION = r"(?:\[~(?:accountid:)?(?P<wiki>[^\]]+)\]|@(?P<plain>[\w.\-@:]+))"
_VERBAL = re.compile(rf"^{_MENTION}\s+(?P<role>\w+)\s+via\s+(?P<channel>.+)$", re.IGNORECASE)


def _approve(args: str, word: str) -> CommentCommand | CommandError:
    if not args:
        return ApproveText(role=None)
    role = _ROLES.get(args.lower())
    if role is None:
        return CommandError(word, f"unknown role '{args}': write '{word} lead' or '{word} security'")
    return ApproveText(role=role)


def _reject(args: str, word: str) -> CommentCommand | CommandError:
    if not args:
        return CommandError(word, f"a rejection needs a reason: '{word} <reason>'")
    return RejectText(reason=args)


def _verbal(args: str, word: str) -> CommentCommand | CommandError:
    match = _VERBAL.match(args)
    usage = f"write '{word} @user lead|security via <channel>'"
    if not match:
        return CommandError(word, f"cannot read the verbal approval: {usage}")
    role = _ROLES.get(match["role"].lower())
    if role is None:
        return CommandError(word, f"unknown role '{match['role']}': {usage}")
    approver = (match["wiki"] or match["plain"]).strip()
    return VerbalApprovalText(approver=approver, role=role, channel=match["channel"].strip())


def _link(kind: str):
    def parse(args: str, word: str) -> CommentCommand | CommandError:
        url = args.split()[0] if args else ""
        url = url.strip("<>[]|")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            return CommandError(word, f"'{word}' needs a link starting with https://")
        return LinkText(kind=kind, url=url)

    return parse


_PARSERS = {
    "approve": _approve,
    "reject": _reject,
    "approve_verbal": _verbal,
    "confirm": lambda args, word: ConfirmText(),
    "peer_reviewed": lambda args, word: ReviewedText(ReviewKind.PEER),
    "security_reviewed": lambda args, word: ReviewedText(ReviewKind.SECURITY),
    "pr": _link("pr"),
    "docs": _link("docs"),
    "deploy": lambda args, word: StepText(Stage.DEPLOYED),
    "close": lambda args, word: StepText(Stage.CLOSED),
}


def parse_comment(body: str, words: dict[str, str] | None = None) -> CommentCommand | CommandError | None:
    """The command in a comment's first non-empty line, or None for an ordinary comment."""
    words = {**DEFAULT_WORDS, **(words or {})}
    line = next((ln.strip() for ln in body.splitlines() if ln.strip()), "")
    if not line.startswith("/"):
        return None
    head, _, args = line.partition(" ")
    by_word = {w.lower(): name for name, w in words.items()}
    name = by_word.get(head.lower())
    if name is None:
        return None
    return _PARSERS[name](args.strip(), head)
