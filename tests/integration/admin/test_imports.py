"""CSV imports: idempotent by external_ref, all or nothing with a per-row report, scoped."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.models import AuditEntry, Customer, Order, Target
from tests.conftest import Demo, MutableClock, login_session

CUSTOMERS = """external_ref,name,org_unit,owner_email,lat,lng,status,potential
IMP-1,Harbor Foods,Shanghai Team 1,rep1@demo.example,31.23,121.47,active,50000
IMP-2,Jade Pharmacy,,rep1@demo.example,31.20,121.40,prospect,
"""
ORDERS = """external_ref,customer_ref,amount,ordered_on,rep_email,currency
ERP-1,IMP-1,1200.50,2026-11-16,,USD
ERP-2,IMP-1,99.99,2026-11-17,rep1@demo.example,
ERP-3,IMP-2,10,2026-11-02,,
"""


async def csrf_token(client: AsyncTestClient[Any]) -> str:
    """The session's CSRF token, read from a page of this area (offline.html carries none)."""
    page = await client.get("/progress")
    match = re.search(r'name="csrf-token" content="([^"]+)"', page.text)
    assert match, page.text[:500]
    return match.group(1)


async def count(session: AsyncSession, model: Any, *where: Any) -> int:
    return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def post_csv(client: AsyncTestClient[Any], headers: dict[str, str], kind: str, text: str) -> Any:
    return await client.post(
        f"/api/v1/import/{kind}", headers={**headers, "content-type": "text/csv"}, content=text.encode()
    )


async def test_same_files_twice_give_the_same_rows(
    client: AsyncTestClient[Any], demo: Demo, auth: Any, session: AsyncSession
) -> None:
    headers = await auth("manager1")
    customers_before, orders_before = await count(session, Customer), await count(session, Order)

    first = await post_csv(client, headers, "customers", CUSTOMERS)
    assert first.status_code == 200, first.text
    assert first.json() | {"kind": "customers"} == {
        "kind": "customers",
        "rows": 2,
        "created": 2,
        "updated": 0,
        "unchanged": 0,
        "regraded": first.json()["regraded"],  # checked in tests/integration/admin/test_setup_company.py
    }
    orders = await post_csv(client, headers, "orders", ORDERS)
    assert orders.status_code == 200 and orders.json()["created"] == 3

    again = await post_csv(client, headers, "customers", CUSTOMERS)
    orders_again = await post_csv(client, headers, "orders", ORDERS)
    assert again.json()["created"] == 0 and again.json()["unchanged"] == 2
    assert orders_again.json() == {
        "kind": "orders", "rows": 3, "created": 0, "updated": 0, "unchanged": 3, "regraded": 0,
    }  # fmt: skip
    assert await count(session, Customer) == customers_before + 2
    assert await count(session, Order) == orders_before + 3

    harbor = (await session.scalars(select(Customer).where(Customer.external_ref == "IMP-1"))).one()
    assert harbor.org_unit_id == demo.units["Shanghai Team 1"] and harbor.owner_rep_id == demo.user("rep1")
    assert str(harbor.last_order_on) == "2026-11-17", "last order date follows the imported orders"
    erp1 = (await session.scalars(select(Order).where(Order.external_ref == "ERP-1"))).one()
    assert erp1.amount == Decimal("1200.50") and erp1.rep_id == demo.user("rep1") and erp1.source == "import"

    changed = await post_csv(client, headers, "orders", ORDERS.replace("1200.50", "1300.00"))
    assert changed.json()["updated"] == 1 and changed.json()["unchanged"] == 2
    await session.refresh(erp1)
    assert erp1.amount == Decimal("1300.00")
    assert await count(session, AuditEntry, AuditEntry.action == "import.orders") == 3


async def test_one_bad_row_rejects_the_file_with_a_report(
    client: AsyncTestClient[Any], demo: Demo, auth: Any, session: AsyncSession
) -> None:
    headers = await auth("manager1")
    await post_csv(client, headers, "customers", CUSTOMERS)
    orders_before = await count(session, Order)
    bad = (
        "external_ref,customer_ref,amount,ordered_on\n"
        "OK-1,IMP-1,10.00,2026-11-10\n"
        "BAD-1,IMP-1,-5,2026-11-10\n"
        "BAD-2,IMP-1,10,2026-13-01\n"
        "BAD-3,NOPE,10,2026-11-10\n"
        "OK-1,IMP-1,10.00,2026-11-10\n"
        "BAD-4,IMP-1,10,2027-06-01\n"
    )
    response = await post_csv(client, headers, "orders", bad)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    report = {(e["row"], e["field"]) for e in response.json()["errors"]}
    assert report == {
        (3, "amount"),
        (4, "ordered_on"),
        (5, "customer_ref"),
        (6, "external_ref"),
        (7, "ordered_on"),
    }
    assert "nothing was imported" in response.json()["detail"]
    assert await count(session, Order) == orders_before, "the good row was not written either"

    header = await post_csv(client, headers, "orders", "external_ref,amount,colour\nX,1,red\n")
    assert header.status_code == 422
    assert {(e["row"], e["field"]) for e in header.json()["errors"]} == {
        (1, "colour"),
        (1, "customer_ref"),
        (1, "ordered_on"),
    }


async def test_targets_import_creates_drafts_and_respects_approval(
    client: AsyncTestClient[Any], demo: Demo, auth: Any, session: AsyncSession
) -> None:
    headers, executive = await auth("manager1"), await auth("exec")
    text = (
        "external_ref,scope,scope_ref,metric,granularity,period_start,amount\n"
        "T-1,user,rep1@demo.example,revenue,month,2027-01-01,12000\n"
        "T-2,org_unit,Shanghai Team 1,visits,month,2027-01-01,240\n"
    )
    first = await post_csv(client, headers, "targets", text)
    assert first.status_code == 200 and first.json()["created"] == 2, first.text
    again = await post_csv(client, headers, "targets", text)
    assert (
        again.json()["unchanged"] == 2 and await count(session, Target, Target.external_ref.is_not(None)) == 2
    )

    t1 = (await session.scalars(select(Target).where(Target.external_ref == "T-1"))).one()
    assert t1.status == "draft" and str(t1.period_end) == "2027-01-31"
    await client.post(f"/api/v1/targets/{t1.id}/submit", headers=headers)
    await client.post(f"/api/v1/targets/{t1.id}/approve", headers=executive)
    moved = await post_csv(client, headers, "targets", text.replace("12000", "15000"))
    assert moved.status_code == 422
    assert moved.json()["errors"] == [
        {"row": 2, "field": "status", "message": "target T-1 is approved; adjust or re-plan it instead"}
    ]

    bad = (
        "external_ref,scope,scope_ref,metric,granularity,period_start,amount\n"
        "T-3,user,rep2@demo.example,revenue,month,2027-01-01,1\n"
        "T-4,user,rep1@demo.example,profit,month,2027-01-01,1\n"
        "T-5,user,rep1@demo.example,visits,month,2027-02-01,1.5\n"
    )
    rejected = await post_csv(client, headers, "targets", bad)
    assert {(e["row"], e["field"]) for e in rejected.json()["errors"]} == {
        (2, "scope_ref"),
        (3, "metric"),
        (4, "amount"),
    }


async def test_multipart_upload_and_who_may_import(
    client: AsyncTestClient[Any], demo: Demo, auth: Any, session: AsyncSession
) -> None:
    admin = await auth("admin")  # a bearer token first: once signed in by cookie, POSTs need CSRF
    assert (await post_csv(client, await auth("rep1"), "customers", CUSTOMERS)).status_code == 403
    assert (await post_csv(client, await auth("exec"), "customers", CUSTOMERS)).status_code == 403
    # manager2 runs the US West team: Shanghai's unit and rep are outside their scope.
    outside = await post_csv(client, await auth("manager2"), "customers", CUSTOMERS)
    assert outside.status_code == 422
    assert {e["field"] for e in outside.json()["errors"]} == {"owner_email"}

    await login_session(client, "admin")
    csrf = await csrf_token(client)
    upload = await client.post(
        "/api/v1/import/customers",
        files={"file": ("customers.csv", CUSTOMERS.encode(), "text/csv")},
        data={"_csrf_token": csrf},
    )
    assert upload.status_code == 200, upload.text
    assert upload.json()["created"] == 2
    assert (await post_csv(client, admin, "widgets", CUSTOMERS)).status_code == 400


async def test_tab_and_bom_files_import_and_bad_choices_name_the_field(
    client: AsyncTestClient[Any], demo: Demo, auth: Any, session: AsyncSession
) -> None:
    headers = await auth("manager1")
    tabbed = "\ufeffexternal_ref\tname\towner_email\nTAB-1\t上海一号店\trep1@demo.example\n".encode()
    done = await post_bytes(client, headers, "customers", tabbed)
    assert done.status_code == 200 and done.json()["created"] == 1, done.text
    assert await count(session, Customer, Customer.name == "上海一号店") == 1

    semicolons = "external_ref;name;owner_email\nSEMI-1;A, B & Co;rep1@demo.example\n".encode("gbk")
    wrong = await post_bytes(client, headers, "customers", semicolons, "?delimiter=comma&encoding=gbk")
    assert wrong.status_code == 422, "read with commas, the header is one unknown column"
    right = await post_bytes(client, headers, "customers", semicolons, "?delimiter=semicolon&encoding=gbk")
    assert right.status_code == 200 and right.json()["created"] == 1
    assert await count(session, Customer, Customer.name == "A, B & Co") == 1

    not_utf8 = await post_bytes(client, headers, "customers", "名字".encode("gb18030"), "?encoding=utf-8")
    assert not_utf8.status_code == 400 and not_utf8.json()["errors"][0]["field"] == "encoding"
    odd = await post_bytes(client, headers, "customers", b"a|b\n", "?delimiter=pipe")
    assert odd.status_code == 400 and "delimiter" in odd.text


async def post_bytes(
    client: AsyncTestClient[Any], headers: dict[str, str], kind: str, raw: bytes, query: str = ""
) -> Any:
    return await client.post(
        f"/api/v1/import/{kind}{query}", headers={**headers, "content-type": "text/csv"}, content=raw
    )


async def test_order_dates_are_judged_by_the_importers_own_today(
    client: AsyncTestClient[Any], demo: Demo, auth: Any, clock: MutableClock, session: AsyncSession
) -> None:
    """17:30 UTC on 18 November is 01:30 on the 19th in Shanghai: a Shanghai manager's orders of
    the 20th are "tomorrow" (the one day of slack), not two days ahead as the UTC date would say."""
    clock.set(datetime(2026, 11, 18, 17, 30, tzinfo=UTC))
    headers = await auth("manager1")
    assert (await post_csv(client, headers, "customers", CUSTOMERS)).status_code == 200
    tomorrow = "external_ref,customer_ref,amount,ordered_on\nLOC-1,IMP-1,10.00,2026-11-20\n"
    accepted = await post_csv(client, headers, "orders", tomorrow)
    assert accepted.status_code == 200 and accepted.json()["created"] == 1, accepted.text
    later = await post_csv(
        client, headers, "orders", tomorrow.replace("LOC-1", "LOC-2").replace("-20", "-21")
    )
    assert later.status_code == 422
    assert [(e["row"], e["field"]) for e in later.json()["errors"]] == [(2, "ordered_on")]
    assert await count(session, Order, Order.external_ref == "LOC-2") == 0
