"""A real OpenID Connect provider on loopback, for single sign-on tests.

It serves discovery, JWKS, an authorization endpoint that approves `user` at once (redirecting
back with a code and the state), a token endpoint that checks the client's secret, the
redirect URI and the PKCE verifier before issuing an RS256-signed ID token with the nonce, and
userinfo. Tests change what it does by its attributes: `user` (the claims of the person who
signs in), `sign_with` (a key other than the published one), `id_token_extra` (claims that
replace the right ones, such as another nonce), `deny` (answer the authorization with
access_denied).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from core.testing.http import LoopbackServer

KEY_ID = "provider-key-1"


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class OidcProvider(LoopbackServer):
    def __init__(self, *, client_id: str, client_secret: str) -> None:
        self.client_id, self.client_secret = client_id, client_secret
        self.key = new_key()
        self.sign_with: rsa.RSAPrivateKey = self.key
        self.user: dict[str, Any] = {
            "sub": "user-1",
            "email": "ada@example.test",
            "email_verified": True,
        }
        self.id_token_extra: dict[str, Any] = {}
        self.deny = False
        self.token_requests: list[dict[str, str]] = []
        self._codes: dict[str, dict[str, Any]] = {}
        self._access: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        super().__init__(self._handler())
        self.issuer = self.base_url
        self.discovery_url = f"{self.issuer}/.well-known/openid-configuration"

    # --- Endpoints --------------------------------------------------------------------------

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "userinfo_endpoint": f"{self.issuer}/userinfo",
            "jwks_uri": f"{self.issuer}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
        }

    def jwks(self) -> dict[str, Any]:
        public = json.loads(RSAAlgorithm.to_jwk(self.key.public_key()))
        return {"keys": [{**public, "kid": KEY_ID, "alg": "RS256", "use": "sig"}]}

    def authorize(self, query: dict[str, str]) -> str:
        """The address the browser is sent back to."""
        back = query["redirect_uri"]
        if self.deny:
            params = {"error": "access_denied", "state": query.get("state", "")}
        else:
            code = secrets.token_urlsafe(16)
            with self._lock:
                self._codes[code] = {**query, "claims": dict(self.user)}
            params = {"code": code, "state": query.get("state", "")}
        return f"{back}{'&' if '?' in back else '?'}{urllib.parse.urlencode(params)}"

    def token(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        self.token_requests.append(form)
        with self._lock:
            grant = self._codes.pop(form.get("code", ""), None)  # a code is used once
        if (form.get("client_id"), form.get("client_secret")) != (
            self.client_id,
            self.client_secret,
        ):
            return 401, {"error": "invalid_client"}
        if grant is None or grant["redirect_uri"] != form.get("redirect_uri"):
            return 400, {"error": "invalid_grant"}
        verifier = form.get("code_verifier", "")
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
        if challenge.rstrip(b"=").decode() != grant.get("code_challenge"):
            return 400, {"error": "invalid_grant", "error_description": "PKCE"}
        claims = grant["claims"]
        now = int(time.time())
        id_token = {
            "iss": self.issuer,
            "aud": self.client_id,
            "sub": claims["sub"],
            "iat": now,
            "exp": now + 300,
            "nonce": grant.get("nonce"),
            "email": claims.get("email"),
            "email_verified": claims.get("email_verified"),
            **self.id_token_extra,
        }
        access = secrets.token_urlsafe(16)
        with self._lock:
            self._access[access] = claims
        signed = jwt.encode(id_token, self.sign_with, algorithm="RS256", headers={"kid": KEY_ID})
        return 200, {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": 300,
            "id_token": signed,
        }

    def userinfo(self, authorization: str) -> tuple[int, dict[str, Any]]:
        with self._lock:
            claims = self._access.get(authorization.removeprefix("Bearer "))
        if claims is None:
            return 401, {"error": "invalid_token"}
        return 200, claims

    # --- HTTP -------------------------------------------------------------------------------

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                url = urllib.parse.urlsplit(self.path)
                query = dict(urllib.parse.parse_qsl(url.query))
                if url.path == "/.well-known/openid-configuration":
                    self._json(200, provider.discovery())
                elif url.path == "/jwks":
                    self._json(200, provider.jwks())
                elif url.path == "/authorize":
                    self.send_response(302)
                    self.send_header("Location", provider.authorize(query))
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                elif url.path == "/userinfo":
                    self._json(*provider.userinfo(self.headers.get("Authorization", "")))
                else:
                    self._json(404, {"error": "not_found"})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
                if self.path == "/token":
                    self._json(*provider.token(form))
                else:
                    self._json(404, {"error": "not_found"})

            def _json(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        return Handler
