"""Password hashing with Argon2id (RFC 9106; OWASP's first choice for password storage).

argon2-cffi's defaults (memory 64 MiB, time cost 3, parallelism 4) are its
RFC 9106 "low memory" profile; ``needs_rehash`` lets a stored hash be upgraded
at the next sign-in when those parameters change.
"""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_hasher = PasswordHasher()
# Verified when a user name is unknown, so a wrong name costs the same time as a wrong password.
_DUMMY = _hasher.hash(secrets.token_urlsafe(16))
MIN_LENGTH = 10


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify(stored: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored or _DUMMY, password) and stored is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    return _hasher.check_needs_rehash(stored)


def generate() -> str:
    """A random password for a new or demo account (printed once, never stored in clear)."""
    return secrets.token_urlsafe(12)


def weakness(password: str) -> str | None:
    """A catalog key naming what is wrong with a chosen password, or None."""
    if len(password) < MIN_LENGTH:
        return "error.password_short"
    if password.isdigit() or len(set(password)) < 4:
        return "error.password_weak"
    return None
