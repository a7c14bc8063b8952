"""Which JWS algorithms a key may verify, decided by the key and the settings alone.

RFC 8725 §2.1: the algorithm must never come from the token. Each verification key
carries the algorithms it may be used with (its type, its curve, the `alg` its JWK
declares, intersected with the configured list); the token's `alg` only selects among
keys and must be in that set. An HMAC secret is only ever used with HS*, a public key
only with its own family, so an HS256 token "signed" with an RSA public key cannot pass.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import load_pem_public_key

# HS*: the minimum secret length in bytes (the hash size, RFC 7518 §3.2)
HMAC_ALGORITHMS = {"HS256": 32, "HS384": 48, "HS512": 64}
RSA_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512")
EC_ALGORITHMS = {"ES256": "secp256r1", "ES384": "secp384r1", "ES512": "secp521r1"}
OKP_ALGORITHMS = ("EdDSA",)
ASYMMETRIC_ALGORITHMS = (*RSA_ALGORITHMS, *EC_ALGORITHMS, *OKP_ALGORITHMS)
SUPPORTED_ALGORITHMS = (*HMAC_ALGORITHMS, *ASYMMETRIC_ALGORITHMS)
MIN_RSA_BITS = 2048


class PublicKeyError(ValueError):
    """A public key that cannot be used; the message says why, for an operator."""


class VerificationKey(NamedTuple):
    """A key ready for PyJWT (parsed once) and the algorithms it may verify."""

    key: Any
    algorithms: tuple[str, ...]
    kid: str | None = None


def algorithms_for(key: Any, configured: Iterable[str]) -> tuple[str, ...]:
    """The configured algorithms this public key can verify, in configured order."""
    if isinstance(key, rsa.RSAPublicKey):
        family: Iterable[str] = RSA_ALGORITHMS
    elif isinstance(key, ec.EllipticCurvePublicKey):
        family = [alg for alg, curve in EC_ALGORITHMS.items() if curve == key.curve.name]
    elif isinstance(key, ed25519.Ed25519PublicKey):
        family = OKP_ALGORITHMS
    else:
        family = ()
    allowed = set(family)
    return tuple(alg for alg in configured if alg in allowed)


def describe_key(key: Any) -> str:
    if isinstance(key, rsa.RSAPublicKey):
        return f"an RSA key of {key.key_size} bits"
    if isinstance(key, ec.EllipticCurvePublicKey):
        return f"an EC key on {key.curve.name}"
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "an Ed25519 key"
    return f"a {type(key).__name__}"


def check_key(key: Any, configured: Iterable[str]) -> tuple[str, ...]:
    """The algorithms `key` may verify; PublicKeyError when none or when it is weak."""
    configured = list(configured)
    if isinstance(key, rsa.RSAPublicKey) and key.key_size < MIN_RSA_BITS:
        raise PublicKeyError(f"{describe_key(key)} is too weak; use at least {MIN_RSA_BITS}")
    algorithms = algorithms_for(key, configured)
    if not algorithms:
        raise PublicKeyError(
            f"{describe_key(key)} cannot verify any of the configured algorithms "
            f"({', '.join(configured) or 'none'})"
        )
    return algorithms


def load_public_key(pem: bytes, configured: Iterable[str]) -> VerificationKey:
    """A PEM public key (`BEGIN PUBLIC KEY`) or certificate (`BEGIN CERTIFICATE`)."""
    if b"PRIVATE KEY" in pem:
        raise PublicKeyError("this is a private key; configure the public key only")
    try:
        if b"BEGIN CERTIFICATE" in pem:
            key: Any = x509.load_pem_x509_certificate(pem).public_key()
        else:
            key = load_pem_public_key(pem)
    except (ValueError, UnsupportedAlgorithm):
        raise PublicKeyError(
            "not a PEM public key or certificate (expected '-----BEGIN PUBLIC KEY-----')"
        ) from None
    return VerificationKey(key, check_key(key, configured))
