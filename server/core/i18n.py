"""gettext for templates and server messages, with Babel catalogs and locale-aware formatting.

Catalogs are read from web/locales/<locale>/LC_MESSAGES/messages.po at startup, so there is no
compile step and no binary .mo file in the repository.
"""

from __future__ import annotations

from contextvars import ContextVar
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path

from babel import Locale, dates, numbers
from babel.messages.pofile import read_po

from server.config import ROOT

LOCALES_DIR = ROOT / "web" / "locales"
DEFAULT_LOCALE = "en"
# Catalog name -> BCP 47 tag used in <html lang> and Babel formatting.
SUPPORTED = {"en": "en", "zh_Hans": "zh-CN"}
_BABEL = {"en": "en_US", "zh_Hans": "zh_Hans_CN"}

current_locale: ContextVar[str] = ContextVar("current_locale", default=DEFAULT_LOCALE)


@cache
def _catalog(locale: str) -> dict[str, str | tuple[str, ...]]:
    path = LOCALES_DIR / locale / "LC_MESSAGES" / "messages.po"
    if not path.exists():
        return {}
    with Path(path).open("rb") as handle:
        catalog = read_po(handle, locale=_BABEL.get(locale, locale))
    messages: dict[str, str | tuple[str, ...]] = {}
    for message in catalog:
        if not message.id or message.fuzzy:
            continue
        key = message.id[0] if isinstance(message.id, (tuple, list)) else message.id
        if isinstance(message.string, (tuple, list)):
            if any(message.string):
                messages[key] = tuple(message.string)
        elif message.string:
            messages[key] = message.string
    return messages


def gettext(message: str, **variables: object) -> str:
    translated = _catalog(current_locale.get()).get(message, message)
    text = translated if isinstance(translated, str) else translated[0]
    return text % variables if variables else text


def select_plural(singular: str, plural: str, n: int) -> str:
    """The catalog's form for n, unformatted (Jinja's newstyle gettext formats it itself)."""
    translated = _catalog(current_locale.get()).get(singular)
    if isinstance(translated, tuple):
        return translated[0] if len(translated) == 1 or n == 1 else translated[1]
    return singular if n == 1 else plural


def ngettext(singular: str, plural: str, n: int, **variables: object) -> str:
    variables.setdefault("num", n)
    return select_plural(singular, plural, n) % variables


_ = gettext


def negotiate(user_locale: str | None, accept_language: str | None) -> str:
    """The user's own setting wins; else the best match from Accept-Language; else English."""
    if user_locale:
        normalized = normalize(user_locale)
        if normalized:
            return normalized
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip()
        normalized = normalize(tag)
        if normalized:
            return normalized
    return DEFAULT_LOCALE


def normalize(tag: str) -> str | None:
    lowered = tag.replace("_", "-").lower()
    if lowered.startswith("zh"):
        # Traditional Chinese tags fall back to English rather than to Simplified.
        return None if any(t in lowered for t in ("hant", "-tw", "-hk", "-mo")) else "zh_Hans"
    if lowered.startswith("en"):
        return "en"
    return None


def locale_tag(locale: str | None = None) -> str:
    return SUPPORTED.get(locale or current_locale.get(), "en")


def babel_locale() -> Locale:
    return Locale.parse(_BABEL.get(current_locale.get(), "en_US"))


def format_number(value: float | int | Decimal | None, digits: int | None = None) -> str:
    if value is None:
        return "–"
    if digits is not None:
        fmt = "#,##0" + ("." + "0" * digits if digits else "")
        return numbers.format_decimal(value, format=fmt, locale=babel_locale())
    return numbers.format_decimal(value, locale=babel_locale())


def format_money(value: Decimal | float | None, currency: str = "USD") -> str:
    if value is None:
        return "–"
    return numbers.format_currency(value, currency, locale=babel_locale())


def format_percent(value: float | Decimal | None, digits: int = 0) -> str:
    if value is None:
        return "–"
    fmt = "#,##0" + ("." + "0" * digits if digits else "") + "%"
    return numbers.format_percent(value, format=fmt, locale=babel_locale())


def format_date(value: date | None, fmt: str = "medium") -> str:
    return "–" if value is None else dates.format_date(value, format=fmt, locale=babel_locale())


def format_datetime(value: datetime | None, tz: str = "UTC", fmt: str = "short") -> str:
    if value is None:
        return "–"
    return dates.format_datetime(value, format=fmt, tzinfo=dates.get_timezone(tz), locale=babel_locale())
