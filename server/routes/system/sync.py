"""The phone's "needs your attention" page: changes the server refused, kept until fixed or discarded.

The list lives in the phone's IndexedDB outbox, not on the server: the page is a shell that
sync.js fills in. Today saves it on the phone (tasks.js), so it opens offline too.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, get

from server.core.deps import require_login
from server.core.templates import render


@get("/sync", guards=[require_login], include_in_schema=False)
async def sync_page(request: Request[Any, Any, Any]) -> Any:
    return render(request, "sync.html")


ROUTES: list[Any] = [sync_page]
