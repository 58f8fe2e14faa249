"""The PWA's static side: manifest and icons, vendored htmx, CSP-safe templates, translations."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import shutil
import struct
import subprocess
import zlib
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace

import pytest
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[3]
STATIC = ROOT / "web" / "static"
TEMPLATES = ROOT / "web" / "templates"
LOCALES = ROOT / "web" / "locales"
ZH_PO = LOCALES / "zh_Hans" / "LC_MESSAGES" / "messages.po"
OWN_SCRIPTS = ["app.js", "outbox-core.js", "push.js", "sw.js"]
TEMPLATE_FILES = sorted(TEMPLATES.rglob("*.html"))
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def read_png(path: Path) -> tuple[int, int, list[bytes]]:
    """Width, height and unfiltered RGBA rows of an 8-bit RGBA PNG."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path.name} is not a PNG"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    assert header is not None
    width, height, depth, colour_type, _, _, interlace = header
    assert (depth, colour_type, interlace) == (8, 6, 0), f"{path.name}: expected 8-bit RGBA, not interlaced"
    raw, stride, rows, previous = zlib.decompress(idat), width * 4, [], bytes(width * 4)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride):
            left = line[i - 4] if i >= 4 else 0
            up, up_left = previous[i], previous[i - 4] if i >= 4 else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - up_left
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - up_left)
                line[i] = (line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else up_left)) & 0xFF
        rows.append(bytes(line))
        previous = bytes(line)
    return width, height, rows


def pixel(rows: list[bytes], x: int, y: int) -> tuple[int, ...]:
    return tuple(rows[y][x * 4 : x * 4 + 4])


@pytest.fixture(scope="module")
def manifest() -> dict:
    return json.loads((STATIC / "manifest.webmanifest").read_text())


def test_manifest_has_what_install_needs(manifest: dict) -> None:
    assert manifest["name"] == manifest["short_name"] == "FieldSales"
    assert manifest["display"] == "standalone"
    assert manifest["start_url"] == "/?source=pwa"
    assert manifest["scope"] == manifest["id"] == "/"
    assert manifest["lang"] == "en"
    assert manifest["description"]
    assert re.fullmatch(r"#[0-9a-f]{6}", manifest["theme_color"])
    assert re.fullmatch(r"#[0-9a-f]{6}", manifest["background_color"])
    kinds = {(icon["sizes"], icon.get("purpose", "any")) for icon in manifest["icons"]}
    assert {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")} <= kinds


def test_manifest_icons_exist_with_the_declared_pixel_size(manifest: dict) -> None:
    for icon in manifest["icons"]:
        assert icon["type"] == "image/png"
        path = STATIC / icon["src"].removeprefix("/static/")
        width, height, _ = read_png(path)
        assert f"{width}x{height}" == icon["sizes"], icon["src"]


def test_maskable_icon_is_full_bleed_with_the_mark_inside_the_safe_zone(manifest: dict) -> None:
    # Launchers crop maskable icons to any shape containing the central circle of radius 40%.
    icon = next(i for i in manifest["icons"] if i.get("purpose") == "maskable")
    width, height, rows = read_png(STATIC / icon["src"].removeprefix("/static/"))
    background = pixel(rows, 0, 0)
    assert background[3] == 255, "maskable icon must be opaque to the edges"
    centre, safe_radius = width / 2, 0.4 * width
    for y in range(0, height, 4):
        for x in range(0, width, 4):
            if (x + 0.5 - centre) ** 2 + (y + 0.5 - centre) ** 2 > safe_radius**2:
                assert pixel(rows, x, y) == background, f"mark outside the safe zone at {x},{y}"
    assert any(pixel(rows, x, height // 2) != background for x in range(width)), "no mark drawn"


def test_apple_touch_icon_and_notification_badge() -> None:
    width, height, rows = read_png(STATIC / "icons" / "apple-touch-icon.png")
    assert (width, height) == (180, 180)
    assert pixel(rows, 0, 0)[3] == 255, "iOS shows transparency as black: must be opaque"
    width, height, rows = read_png(STATIC / "icons" / "badge-96.png")
    assert (width, height) == (96, 96)
    assert pixel(rows, 0, 0)[3] == 0, "Android draws badges from the alpha channel only"
    assert (STATIC / "icons" / "favicon.svg").read_text().startswith("<svg")


def test_vendored_htmx_matches_the_pinned_hash() -> None:
    pinned = re.search(
        r"^htmx\.org (\S+) (sha384-\S+)$", (STATIC / "vendor" / "VERSIONS.md").read_text(), re.M
    )
    assert pinned, "VERSIONS.md must have a line `htmx.org X.Y.Z sha384-...`"
    version, sri = pinned.groups()
    content = (STATIC / "vendor" / "htmx.min.js").read_bytes()
    actual = "sha384-" + base64.b64encode(hashlib.sha384(content).digest()).decode()
    assert actual == sri
    assert version.startswith("2.")
    # The browser enforces the same hash through Subresource Integrity.
    assert f'integrity="{sri}"' in (TEMPLATES / "base.html").read_text()


class _CspAudit(HTMLParser):
    """Collects what a CSP without 'unsafe-inline' would block."""

    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []
        self.in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = {name.lower() for name, _ in attrs}
        values = [value or "" for _, value in attrs]
        if tag == "style":
            self.problems.append("<style> element")
        if tag == "script":
            if "src" not in names:
                self.problems.append("<script> without src")
            self.in_script = True
        self.problems += [f"{name}= handler attribute" for name in names if re.fullmatch(r"on[a-z]+", name)]
        self.problems += ["style= attribute" for name in names if name == "style"]
        self.problems += [
            f"javascript: URL {v}" for v in values if v.strip().lower().startswith("javascript:")
        ]

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self.in_script = False

    def handle_data(self, data: str) -> None:
        if self.in_script and data.strip():
            self.problems.append("inline script body")


@pytest.mark.parametrize("template", TEMPLATE_FILES, ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_templates_need_no_unsafe_inline(template: Path) -> None:
    audit = _CspAudit()
    audit.feed(template.read_text())
    assert audit.problems == []


@pytest.mark.parametrize("script", OWN_SCRIPTS)
def test_scripts_need_no_eval(script: str) -> None:
    source = (STATIC / script).read_text()
    assert not re.search(r"\beval\s*\(|new\s+Function\s*\(|setTimeout\s*\(\s*['\"]", source)
    assert ".innerHTML" not in source and 'setAttribute("style"' not in source


def _template_messages() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for template in TEMPLATE_FILES:
        messages = extract_from_file(
            "jinja2", str(template), options={"extensions": "jinja2.ext.i18n", "encoding": "utf-8"}
        )
        for _, message, _, _ in messages:
            msgid = message[0] if isinstance(message, tuple) else message
            found.setdefault(msgid, []).append(str(template.relative_to(TEMPLATES)))
    return found


@pytest.fixture(scope="module")
def zh_catalog():
    with ZH_PO.open("rb") as handle:
        return read_po(handle, locale="zh_Hans")


def test_every_template_string_has_a_chinese_translation(zh_catalog) -> None:
    messages = _template_messages()
    assert len(messages) > 40, "extraction found too little: is the jinja2 extractor working?"
    problems = []
    for msgid, where in sorted(messages.items()):
        entry = zh_catalog.get(msgid)
        strings = (
            entry.string if entry and isinstance(entry.string, tuple) else (entry.string if entry else "",)
        )
        if entry is None or entry.fuzzy or not all(strings):
            problems.append(f"{msgid!r} ({where[0]})")
        elif any(set(PLACEHOLDER.findall(s)) != set(PLACEHOLDER.findall(msgid)) for s in strings):
            problems.append(f"{msgid!r}: placeholders differ in the translation")
    assert problems == []


def test_nav_labels_and_server_messages_are_translated(zh_catalog) -> None:
    from server.core.templates import NAV

    labels = {label for items in NAV.values() for _, label, _ in items}
    server_messages = {
        "Invalid email or password.",
        "Too many attempts. Try again later.",
        "Page not found",
        "Something went wrong",
    }
    for msgid in labels | server_messages:
        entry = zh_catalog.get(msgid)
        assert entry is not None and entry.string and not entry.fuzzy, msgid


def test_service_worker_source_has_the_server_placeholders() -> None:
    source = (STATIC / "sw.js").read_text()
    assert source.count("__SW_VERSION__") == 1
    assert source.count("__PRECACHE_URLS__") == 1
    assert "fieldsales-shell-${VERSION}" in source
    assert "importScripts(" in source and "/static/outbox-core.js" in source


@pytest.mark.skipif(shutil.which("node") is None, reason="node not installed")
@pytest.mark.parametrize("script", OWN_SCRIPTS)
def test_scripts_parse(script: str, tmp_path: Path) -> None:
    source = (STATIC / script).read_text()
    # As served: the server fills in the version and the precache list.
    source = source.replace("__SW_VERSION__", "abc123").replace("__PRECACHE_URLS__", '["/offline"]')
    target = tmp_path / script
    target.write_text(source)
    result = subprocess.run(["node", "--check", str(target)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_css_and_js_stay_within_budget() -> None:
    assert (STATIC / "app.css").stat().st_size < 20 * 1024
    assert (STATIC / "app.js").stat().st_size < 12 * 1024


def _context(template_user, locale: str, path: str = "/") -> dict:
    from server.core import i18n
    from server.core.templates import nav_for

    return {
        "request": SimpleNamespace(url=SimpleNamespace(path=path), htmx=False),
        "base_template": "base.html",
        "user": template_user,
        "nav": nav_for(template_user.role if template_user else None, path),
        "csrf_token": "token-123",
        "flashes": [SimpleNamespace(category="success", message="Saved")],
        "locale": locale,
        "locale_tag": i18n.locale_tag(locale),
    }


@pytest.mark.parametrize("locale", ["en", "zh_Hans"])
@pytest.mark.parametrize(
    ("template", "role"),
    [
        ("home/rep.html", "rep"),
        ("home/executive.html", "executive"),
        ("auth/login.html", None),
        ("errors/403.html", "rep"),
        ("errors/404.html", None),
        ("errors/500.html", None),
        ("offline.html", "rep"),
    ],
)
def test_pages_render_with_the_common_context(template: str, role: str | None, locale: str) -> None:
    from server.core import i18n
    from server.core.templates import create_jinja_env

    user = SimpleNamespace(name="Ada Lovelace", email="ada@example.com", role=role) if role else None
    token = i18n.current_locale.set(locale)
    try:
        html = create_jinja_env().get_template(template).render(_context(user, locale))
    finally:
        i18n.current_locale.reset(token)
    assert f'<html lang="{"zh-CN" if locale == "zh_Hans" else "en"}">' in html
    assert html.count("<h1") == 1 and '<main id="main"' in html
    assert ("在线" if locale == "zh_Hans" else ">Online<") in html
    assert 'class="flash flash-success"' in html
    # The offline page is precached, so it must not carry a (soon stale) CSRF token.
    assert ('name="csrf-token"' in html) == (template != "offline.html")
    # Signed in: navigation, the push banner (hidden until push.js decides) and sign-out.
    for signed_in_only in ('class="app-nav"', 'id="push-banner"', 'action="/logout"'):
        assert (signed_in_only in html) == (user is not None), signed_in_only


def test_fragment_sends_flashes_out_of_band_and_keeps_the_title() -> None:
    from server.core.templates import create_jinja_env

    context = _context(SimpleNamespace(name="Ada", email="a@example.com", role="rep"), "en")
    context["base_template"] = "_fragment.html"
    template = create_jinja_env().get_template("home/rep.html")
    html = template.render({**context, "flashes": [{"category": "success", "message": "Saved."}]})
    assert html.lstrip().startswith("<title>Today · FieldSales</title>")
    assert 'id="flashes"' in html and 'hx-swap-oob="innerHTML"' in html and "Saved." in html
    assert "<nav" not in html and "<header" not in html
    # Without a message no region goes out: an empty one would wipe what the page shows.
    quiet = template.render({**context, "flashes": []})
    assert 'id="flashes"' not in quiet


@pytest.mark.parametrize("catalog", [ZH_PO, LOCALES / "messages.pot"], ids=["zh_Hans.po", "messages.pot"])
def test_catalogues_define_each_message_once(catalog: Path) -> None:
    # Branches append to the catalogues and merge by union; a message defined twice makes
    # msgfmt fail and leaves which translation wins to chance.
    keys = re.findall(r'^(?:msgctxt (".*")\n)?msgid (".*"(?:\n".*")*)', catalog.read_text(), re.M)
    duplicates = sorted({key for key in keys if key[1] != '""' and keys.count(key) > 1})
    assert duplicates == []
