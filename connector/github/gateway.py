"""The GitHub REST calls the connector makes as a GitHub App: an installation access token, and the answer
to a custom deployment protection rule. Errors are the connector's own (`ApiError` family).

GitHub's REST documentation, "Review custom deployment protection rules for a workflow run"
(docs.github.com/en/rest/actions/workflow-runs#review-custom-deployment-protection-rules-for-a-workflow-run):

    POST /repos/{owner}/{repo}/actions/runs/{run_id}/deployment_protection_rule
    Accept: application/vnd.github+json    X-GitHub-Api-Version: 2022-11-28
    Authorization: Bearer <installation access token>     (GitHub Apps review only their own rules)
    {"environment_name": "production", "state": "approved" | "rejected", "comment": "..."}   → 204

That URL is the `deployment_callback_url` of the `deployment_protection_rule` event. The installation token
comes from "Create an installation access token for an app"
(docs.github.com/en/rest/apps/apps#create-an-installation-access-token-for-an-app):
`POST /app/installations/{installation_id}/access_tokens` with `Authorization: Bearer <JWT>`, the JWT signed
RS256 with the App's private key, `iss` the App's id, `iat` 60 s in the past and `exp` at most 10 minutes
later ("Generating a JSON Web Token (JWT) for a GitHub App") → 201 `{"token", "expires_at"}`.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

import requests
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from connector.errors import ApiError, AuthFailed, ConfigError, NotFound, RateLimited, Rejected, Unavailable

if TYPE_CHECKING:
    from connector.config import Settings

API_VERSION = "2022-11-28"
ACCEPT = "application/vnd.github+json"
TOKEN_MARGIN = 60.0  # seconds before its expiry a token is renewed
Timeout = tuple[float, float]


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class GitHubGateway:
    def __init__(
        self,
        api_url: str,
        *,
        app_id: str,
        private_key_pem: str,
        timeout: Timeout = (3.05, 10),
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.api_url, self.app_id, self.timeout, self.clock = api_url.rstrip("/"), app_id, timeout, clock
        try:
            key = serialization.load_pem_private_key(private_key_pem.encode(), password=None)
        except (ValueError, TypeError):
            raise ConfigError("ECM_GITHUB_APP_PRIVATE_KEY: not a PEM private key") from None
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ConfigError("ECM_GITHUB_APP_PRIVATE_KEY: a GitHub App's key is an RSA key")
        self._key = key
        self._session = requests.Session()
        self._tokens: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"GitHubGateway({self.api_url!r}, app_id={self.app_id!r})"  # never the key or a token

    def app_jwt(self) -> str:
        now = int(self.clock())
        header = _b64url(json.dumps({"alg": "RS256", "typ": "JWT"}).encode())
        claims = _b64url(json.dumps({"iat": now - 60, "exp": now + 540, "iss": self.app_id}).encode())
        signing_input = f"{header}.{claims}".encode()
        signature = self._key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
        return f"{header}.{claims}.{_b64url(signature)}"

    def installation_token(self, installation_id: str) -> str:
        with self._lock:
            token, expires = self._tokens.get(installation_id, ("", 0.0))
            if token and expires - TOKEN_MARGIN > self.clock():
                return token
        answer = self._post(
            f"{self.api_url}/app/installations/{installation_id}/access_tokens",
            f"installation token for {installation_id}",
            bearer=self.app_jwt(),
            expect=201,
        )
        token = str(answer.get("token") or "")
        if not token:
            raise Rejected("installation token: GitHub answered without a token")
        expires_at = answer.get("expires_at")
        expiry = (
            datetime.fromisoformat(str(expires_at).replace("Z", "+00:00")).timestamp() if expires_at else 0
        )
        with self._lock:
            self._tokens[installation_id] = (token, expiry or self.clock() + 3000)
        return token

    def review_protection_rule(
        self, callback_url: str, installation_id: str, environment: str, state: str, comment: str
    ) -> None:
        """Answer a deployment protection rule at its callback URL (on this API's host only: the token
        is never sent anywhere else)."""
        if not callback_url.startswith(self.api_url + "/"):
            raise Rejected(f"deployment callback {callback_url!r} is not on {self.api_url}")
        body = {"environment_name": environment, "state": state, "comment": comment[:65000]}
        token = self.installation_token(installation_id)
        self._post(
            callback_url, f"review protection rule for {environment}", bearer=token, json=body, expect=204
        )

    def _post(self, url: str, action: str, *, bearer: str, expect: int, json: Any = None) -> dict[str, Any]:
        headers = {"Accept": ACCEPT, "X-GitHub-Api-Version": API_VERSION, "Authorization": f"Bearer {bearer}"}
        try:
            response = self._session.post(url, headers=headers, json=json, timeout=self.timeout)
        except requests.RequestException as e:
            raise Unavailable(f"{action}: {type(e).__name__}") from e
        if response.status_code != expect and not 200 <= response.status_code < 300:
            raise _error(action, response)
        if not response.content:
            return {}
        try:
            found = response.json()
        except ValueError:
            return {}
        return found if isinstance(found, dict) else {}


def _error(action: str, response: requests.Response) -> ApiError:
    status = response.status_code
    try:
        message = str(response.json().get("message") or "")
    except (ValueError, AttributeError):
        message = response.text[:200]
    text = f"{action}: HTTP {status}" + (f": {message}" if message else "")
    limited = status == 429 or (status == 403 and response.headers.get("x-ratelimit-remaining") == "0")
    if limited:
        retry = response.headers.get("Retry-After") or ""
        return RateLimited(text, status=status, retry_after=float(retry) if retry.isdigit() else 60.0)
    kind = {401: AuthFailed, 403: AuthFailed, 404: NotFound}.get(status)
    return (kind or (Unavailable if status >= 500 else Rejected))(text, status=status)


def gateway_from_settings(settings: Settings) -> GitHubGateway:
    if not settings.github_app_id or settings.github_app_private_key is None:
        raise ConfigError(
            "ECM_GITHUB_APP_ID and ECM_GITHUB_APP_PRIVATE_KEY: required to answer protection rules"
        )
    return GitHubGateway(
        settings.github_api_url,
        app_id=settings.github_app_id,
        private_key_pem=settings.github_app_private_key.get_secret_value(),
    )
