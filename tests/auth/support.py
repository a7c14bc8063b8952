"""What the auth tests share: keys, tokens, a JWKS server, an app served on a real socket,
a route that says who the caller is, and an event listener."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from litestar import Request, get

from tests.support.processes import free_port
from themisgate import Ctx

PROBLEM = "application/problem+json"
ISSUER = "https://idp.test/"
AUDIENCE = "themisgate-tests"
HS_SECRET = "hs256-test-secret-that-is-long-enough-0123456789"


@get("/whoami")
async def whoami(ctx: Ctx, request: Request[Any, Any, Any]) -> dict[str, Any]:
    identity = await ctx.identify(request)
    return {
        "kind": identity.kind,
        "id": identity.id,
        "tier": identity.tier,
        "scopes": sorted(identity.scopes),
    }


class Plugin:
    """A plugin object with a name and whatever hooks a test gives it."""

    def __init__(self, name: str, **hooks: Any) -> None:
        self.name = name
        for hook, function in hooks.items():
            setattr(self, hook, function)


def whoami_plugin() -> Plugin:
    return Plugin("whoami", themisgate_routes=lambda ctx: [whoami])


def listener(events: list[tuple[str, dict[str, Any]]]) -> Plugin:
    def themisgate_event(name: str, payload: dict[str, Any]) -> None:
        events.append((name, dict(payload)))

    return Plugin("listener", themisgate_event=themisgate_event)


def auth_settings(**auth: Any) -> dict[str, Any]:
    return {"plugins": {"auth": auth}}


def assert_problem(response: Any, status: int, slug: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    assert body["type"] == f"urn:themisgate:problem:{slug}"
    assert body["status"] == status
    assert body["detail"]
    return body


def assert_unauthorized(response: Any, error: str | None = "invalid_token") -> dict[str, Any]:
    """A 401 problem with an RFC 6750 challenge."""
    body = assert_problem(response, 401, "unauthorized")
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith('Bearer realm="themisgate"'), challenge
    if error is not None:
        assert f'error="{error}"' in challenge, challenge
    return body


# --- keys and tokens --------------------------------------------------------------------


class KeyPair:
    def __init__(self, private: Any, kid: str) -> None:
        self.private = private
        self.public = private.public_key()
        self.kid = kid

    @property
    def public_pem(self) -> str:
        return self.public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode()

    def jwk(self, alg: str | None = None) -> dict[str, Any]:
        algorithm = jwt.algorithms.RSAAlgorithm if self.is_rsa else jwt.algorithms.ECAlgorithm
        data: dict[str, Any] = algorithm.to_jwk(self.public, as_dict=True)
        data["kid"] = self.kid
        data["use"] = "sig"
        if alg:
            data["alg"] = alg
        return data

    @property
    def is_rsa(self) -> bool:
        return isinstance(self.private, rsa.RSAPrivateKey)


def rsa_pair(kid: str = "rsa-1") -> KeyPair:
    return KeyPair(rsa.generate_private_key(public_exponent=65537, key_size=2048), kid)


def ec_pair(kid: str = "ec-1") -> KeyPair:
    return KeyPair(ec.generate_private_key(ec.SECP256R1()), kid)


def claims(**extra: Any) -> dict[str, Any]:
    now = int(time.time())
    base: dict[str, Any] = {
        "sub": "alice",
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + 600,
        "tier": "premium",
        "scope": "read write",
    }
    base.update(extra)
    return {k: v for k, v in base.items() if v is not None}


def sign(payload: dict[str, Any], key: Any, algorithm: str, kid: str | None = None) -> str:
    headers = {"kid": kid} if kid else None
    return jwt.encode(payload, key, algorithm=algorithm, headers=headers)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned_token(payload: dict[str, Any]) -> str:
    """`alg: none`: no signature at all."""
    header = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    return f"{header}.{_b64(json.dumps(payload).encode())}."


def hmac_token(payload: dict[str, Any], secret: bytes, kid: str | None = None) -> str:
    """HS256 with any bytes as the secret, e.g. an RSA public key's PEM: the algorithm
    confusion attack, which PyJWT itself refuses to sign."""
    header: dict[str, Any] = {"alg": "HS256", "typ": "JWT"}
    if kid:
        header["kid"] = kid
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(payload).encode())}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


# --- a JWKS endpoint ---------------------------------------------------------------------


class JwksServer:
    """A real HTTP server on 127.0.0.1 serving a JWK set that tests change, stop (the
    port refuses connections) and start again on the same port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.keys: list[dict[str, Any]] = []
        self.requests = 0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/.well-known/jwks.json"

    def publish(self, *pairs: KeyPair) -> None:
        self.keys = [pair.jwk() for pair in pairs]

    def start(self) -> JwksServer:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.requests += 1
                body = json.dumps({"keys": owner.keys}).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        server = self._server
        self._thread = threading.Thread(
            target=lambda: server.serve_forever(poll_interval=0.02), daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join()
            self._thread = None


@contextlib.contextmanager
def jwks_server(*pairs: KeyPair) -> Iterator[JwksServer]:
    server = JwksServer()
    server.publish(*pairs)
    server.start()
    try:
        yield server
    finally:
        server.stop()


# --- an app on a real socket ------------------------------------------------------------
