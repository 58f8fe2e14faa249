"""The opportunity page forms: urlencoded fields -> the service's fields, or errors by field."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any
from uuid import UUID

from server.core.i18n import gettext as _


def _text(data: dict[str, str], name: str) -> str:
    return (data.get(name) or "").strip()


def deal_fields(data: dict[str, str], new: bool) -> tuple[dict[str, Any], dict[str, str]]:
    """The fields a form sent, parsed; a blank probability means "the stage's default"."""
    fields: dict[str, Any] = {}
    errors: dict[str, str] = {}
    if new:
        try:
            fields["customer_id"] = UUID(_text(data, "customer_id"))
        except ValueError:
            errors["customer_id"] = _("Choose a customer.")
    fields["title"] = _text(data, "title")
    if not fields["title"]:
        errors["title"] = _("Enter the deal’s title.")
    try:
        fields["amount"] = Decimal(_text(data, "amount").replace(",", "."))
    except InvalidOperation:
        errors["amount"] = _("Enter the deal’s amount, like 12000 or 12000.50.")
    if _text(data, "stage"):
        fields["stage"] = _text(data, "stage")
    probability = _text(data, "probability")
    if not probability:
        if not new:
            fields["probability"] = None
    elif not probability.isascii() or not probability.isdigit() or int(probability) > 100:
        errors["probability"] = _("Enter a whole percentage from 0 to 100, or leave it empty.")
    elif new or probability != _text(data, "probability_was"):
        # Left as shown, it is not sent: a stage change then brings the new stage's default.
        fields["probability"] = int(probability)
    try:
        close = _text(data, "expected_close")
        fields["expected_close"] = date.fromisoformat(close) if close else None
    except ValueError:
        errors["expected_close"] = _("Enter a date.")
    for name in ("next_step", "lost_reason"):
        fields[name] = _text(data, name)[:500] or None
    return fields, errors
