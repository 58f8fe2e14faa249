"""Password rules per OWASP ASVS 2.1: at least 8 characters, at most 128, not a common password,
and no composition rules (no "one digit, one symbol")."""

from __future__ import annotations

import gzip
from functools import cache
from pathlib import Path

from server.core.errors import field_error
from server.core.i18n import gettext as _

MIN_LENGTH = 8
MAX_LENGTH = 128
# 8,354 passwords of 8+ characters from Django's common-password list (BSD licence), itself
# drawn from leaked-password statistics; shorter ones already fail the length rule.
_COMMON_FILE = Path(__file__).with_name("common-passwords.txt.gz")


@cache
def common_passwords() -> frozenset[str]:
    with gzip.open(_COMMON_FILE, "rt", encoding="utf-8") as handle:
        return frozenset(line.strip().lower() for line in handle if line.strip())


def password_problem(password: str, email: str | None = None) -> str | None:
    """Why a password is refused, or None when it is acceptable."""
    if len(password) < MIN_LENGTH:
        return _("must be at least %(n)s characters", n=MIN_LENGTH)
    if len(password) > MAX_LENGTH:
        return _("must be at most %(n)s characters", n=MAX_LENGTH)
    lowered = password.strip().lower()
    if lowered in common_passwords():
        return _("is one of the most common passwords; choose another")
    if email and lowered in {email.lower(), email.split("@")[0].lower()}:
        return _("must not be your e-mail address")
    return None


def check_password(password: str, email: str | None = None, field: str = "password") -> None:
    """Raise a 422 naming `field` when the password breaks a rule."""
    problem = password_problem(password, email)
    if problem:
        raise field_error(field, problem)
