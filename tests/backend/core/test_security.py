"""URL secrets, lookup hashes and passwords."""

from __future__ import annotations

import math
from collections import Counter

from backend.core import security


def _entropy_bits(text: str) -> float:
    counts = Counter(text)
    per_char = -sum(c / len(text) * math.log2(c / len(text)) for c in counts.values())
    return per_char * len(text)


def test_a_url_secret_carries_at_least_128_bits() -> None:
    secret = security.derive_secret("k" * 40, security.new_nonce())
    assert len(secret) >= 43  # 256 bits in base64url
    assert _entropy_bits(secret) > 128


def test_the_secret_depends_on_the_server_key_so_the_database_alone_cannot_rebuild_it() -> None:
    nonce = security.new_nonce()
    assert security.derive_secret("key-one" * 6, nonce) != security.derive_secret("key-two" * 6, nonce)
    assert security.derive_secret("key-one" * 6, nonce) == security.derive_secret("key-one" * 6, nonce)


def test_the_lookup_hash_does_not_contain_the_secret() -> None:
    secret = security.derive_secret("k" * 40, security.new_nonce())
    digest = security.lookup_hash(secret)
    assert secret not in digest and len(digest) == 64


def test_passwords_are_hashed_with_argon2_and_verified() -> None:
    hashed = security.hash_password("correct horse battery")
    assert hashed.startswith("$argon2id$")
    assert security.verify_password(hashed, "correct horse battery")
    assert not security.verify_password(hashed, "wrong")
    assert not security.verify_password(None, "anything")


def test_signed_values_round_trip_and_reject_tampering() -> None:
    token = security.sign("k" * 40, {"uid": 7}, "salt")
    assert security.unsign("k" * 40, token, "salt", 60) == {"uid": 7}
    assert security.unsign("k" * 40, token + "x", "salt", 60) is None
    assert security.unsign("other" * 8, token, "salt", 60) is None
