"""The GitHub REST calls a GitHub App makes to answer a custom deployment protection rule, served on
loopback for the demo and the tests, and held to GitHub's documented shape:

- `POST /app/installations/{installation_id}/access_tokens` takes the App's JWT (RS256, signed with the
  App's private key, `iss` the App id, `exp` at most 10 minutes after `iat`; docs.github.com "Generating a
  JSON Web Token (JWT) for a GitHub App") and answers 201 `{"token", "expires_at"}`; an unknown
  installation is 404, a bad JWT 401.
- `POST /repos/{owner}/{repo}/actions/runs/{run_id}/deployment_protection_rule` takes that installation
  token as `Authorization: Bearer`, `{"environment_name", "state": "approved" | "rejected", "comment"}`
  and answers 204 (docs.github.com/en/rest/actions/workflow-runs#review-custom-deployment-protection-rules-
  for-a-workflow-run); any other body is 422 "Invalid request", a second answer for the same run and
  environment 422 as well (the rule has been reviewed), a wrong token 401.

    with SandboxGitHub(app_id="123", public_key=key.public_key()) as github:
        github.expect_run("acme/checkout", 4242, "production", installation_id="77")
        ...  github.answers -> [{"repository", "run_id", "environment_name", "state", "comment"}]
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from flask import Flask, Response, jsonify, request
from werkzeug.serving import WSGIRequestHandler, make_server

STATES = ("approved", "rejected")


class QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None


def _segment(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SandboxGitHub:
    def __init__(self, *, app_id: str, public_key: rsa.RSAPublicKey, clock: Any = time.time) -> None:
        self.app_id, self.public_key, self.clock = app_id, public_key, clock
        self.installations: set[str] = set()
        self.tokens: dict[str, str] = {}  # token -> installation
        self.pending: dict[tuple[str, int, str], str] = {}  # (repo, run, environment) -> installation
        self.answers: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.app = self._app()
        self._server: Any = None
        self.url = ""

    def expect_run(self, repository: str, run_id: int, environment: str, *, installation_id: str) -> str:
        """A workflow run waiting on the App's rule for `environment`; its deployment callback URL."""
        with self.lock:
            self.installations.add(installation_id)
            self.pending[(repository, run_id, environment)] = installation_id
        return f"{self.url}/repos/{repository}/actions/runs/{run_id}/deployment_protection_rule"

    def _app(self) -> Flask:
        app = Flask("sandbox-github")

        @app.post("/app/installations/<installation_id>/access_tokens")
        def access_token(installation_id: str) -> tuple[Response, int]:
            problem = self._bad_jwt(request.headers.get("Authorization", ""))
            if problem:
                return jsonify(message=problem), 401
            if installation_id not in self.installations:
                return jsonify(message="Not Found"), 404
            token = "ghs_" + secrets.token_urlsafe(24)
            with self.lock:
                self.tokens[token] = installation_id
            expires = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.clock() + 3600))
            return jsonify(token=token, expires_at=expires), 201

        @app.post("/repos/<owner>/<repo>/actions/runs/<int:run_id>/deployment_protection_rule")
        def review(owner: str, repo: str, run_id: int) -> tuple[Response, int] | Response:
            token = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
            installation = self.tokens.get(token)
            if installation is None:
                return jsonify(message="Bad credentials"), 401
            body = request.get_json(silent=True)
            if (
                not isinstance(body, dict)
                or set(body) - {"environment_name", "state", "comment"}
                or not isinstance(body.get("environment_name"), str)
                or body.get("state") not in STATES
                or not isinstance(body.get("comment", ""), str)
            ):
                return jsonify(message="Invalid request."), 422
            key = (f"{owner}/{repo}", run_id, body["environment_name"])
            with self.lock:
                if self.pending.get(key) != installation:
                    return jsonify(message="No pending deployment protection rule for this run."), 422
                del self.pending[key]
                self.answers.append({"repository": key[0], "run_id": run_id, **body})
            return Response(status=204)

        return app

    def _bad_jwt(self, authorization: str) -> str | None:
        try:
            header, claims, signature = authorization.removeprefix("Bearer ").split(".")
            self.public_key.verify(
                _segment(signature), f"{header}.{claims}".encode(), padding.PKCS1v15(), hashes.SHA256()
            )
            found = json.loads(_segment(claims))
        except (ValueError, InvalidSignature):
            return "A JSON web token could not be decoded"
        now = self.clock()
        if str(found.get("iss")) != self.app_id:
            return "'Issuer' claim ('iss') must be an Integer"
        if not found.get("iat", now + 1) <= now < found.get("exp", 0) or found["exp"] - found["iat"] > 600:
            return "'Expiration time' claim ('exp') is too far in the future"
        return None

    def start(self) -> str:
        self._server = make_server("127.0.0.1", 0, self.app, threaded=True, request_handler=QuietHandler)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        threading.Thread(target=self._server.serve_forever, name="sandbox-github", daemon=True).start()
        return self.url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> SandboxGitHub:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()
