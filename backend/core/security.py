"""Password hashing, URL secrets and signing."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

_hasher = PasswordHasher()

SECRET_BYTES = 32  # 256 bits in every URL secret


def hash_password(password: str) -> str:
    """Argon2id hash of a password."""
    return _hasher.hash(password)


def needs_rehash(password_hash: str) -> bool:
    """True when a stored hash uses older Argon2 parameters than the current ones (rehash it at the next log-in)."""
    try:
        return _hasher.check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when the password matches; never raises."""
    if not password_hash:
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def new_nonce() -> str:
    """A fresh random per-endpoint nonce."""
    return secrets.token_urlsafe(SECRET_BYTES)


def derive_secret(key: str, nonce: str, purpose: str = "mcp-url") -> str:
    """The URL secret for a nonce: HMAC-SHA256 under the server key, so a database copy alone is useless."""
    digest = hmac.new(key.encode(), f"{purpose}:{nonce}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def lookup_hash(secret: str) -> str:
    """A one-way index key for a secret (SHA-256 hex)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def same_secret(a: str, b: str) -> bool:
    """Constant-time comparison."""
    return hmac.compare_digest(a.encode(), b.encode())


def new_token() -> str:
    """A random bearer token (256 bits)."""
    return secrets.token_urlsafe(SECRET_BYTES)


def sign(key: str, value: object, salt: str) -> str:
    """Sign a JSON-able value (itsdangerous)."""
    return URLSafeTimedSerializer(key, salt=salt).dumps(value)


def unsign(key: str, token: str, salt: str, max_age: int) -> object | None:
    """The signed value, or None if the signature is bad or expired."""
    try:
        return URLSafeTimedSerializer(key, salt=salt).loads(token, max_age=max_age)
    except (BadSignature, SignatureExpired):
        return None


@lru_cache(maxsize=8)
def fernet_for(key: str, purpose: bytes) -> Fernet:
    """A Fernet cipher under HKDF-SHA256(server key, purpose): one key per use, derived once per process."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose)
    return Fernet(base64.urlsafe_b64encode(hkdf.derive(key.encode())))
