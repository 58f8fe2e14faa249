"""The admin home renders alone (no database) in both languages, with its stylesheet and no
placeholder text."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from tests.unit.web.test_static_assets import _context


@pytest.mark.parametrize(("locale", "users_label"), [("en", "Users"), ("zh_Hans", "用户")])
def test_admin_home_renders_with_figures(locale: str, users_label: str) -> None:
    from server.core import i18n
    from server.core.templates import create_jinja_env

    admin = SimpleNamespace(name="Ada", email="ada@example.com", role="admin")
    figures = {"users": 14, "inactive": 2, "units": 6, "customers": 600, "holidays": 19, "changes": 40}
    token = i18n.current_locale.set(locale)
    try:
        html = (
            create_jinja_env()
            .get_template("admin/home.html")
            .render(_context(admin, locale, "/admin") | {"figures": figures})
        )
    finally:
        i18n.current_locale.reset(token)
    assert html.count("<h1") == 1 and "admin.css" in html
    assert f">{users_label}</a>" in html and "600" in html
    assert "Nothing set up yet" not in html and 'href="/admin/audit"' in html
