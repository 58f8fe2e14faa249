"""The grading SELECT: every customer's ABC, RFM, effective grade and next visit due from the
trailing 365 days of orders, in one statement per company, keeping only rows that change.

Window functions carry the rules of server.domain.grading in exact integer arithmetic. The
statement is shaped per engine, for each planner's joins (see _graded_joined and
_graded_sqlite). Its rows are staged in the `changes` temporary table that
server/services/customers/grading.py then writes from.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ColumnElement,
    Date,
    Float,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    and_,
    case,
    cast,
    func,
    literal,
    or_,
    select,
    true,
)

from server.db.models import Customer, Order
from server.services.customers.visit_policy import next_due_expr

# The domain's cutoffs (classify_abc defaults), compared as exact integer ratios in SQL.
A_CUT, B_CUT = Decimal("0.80"), Decimal("0.95")
WINDOW_DAYS = 365  # revenue window: ordered_on in (today - 365, today]

_ID_TYPE = Customer.__table__.c.id.type

# What a regrade writes into customers, copied from the staged rows.
WRITTEN = (
    "grade", "computed_grade", "r_score", "f_score", "m_score", "revenue_365", "revenue_share", "next_visit_due",
)  # fmt: skip

# Only the rows a regrade changes. ON COMMIT DROP is a safety net on PostgreSQL; we drop it
# ourselves so one transaction can grade several companies.
changes = Table(
    "grading_changes",
    MetaData(),
    Column("id", _ID_TYPE),
    Column("old_grade", String(1)),
    *(Column(name, Customer.__table__.c[name].type) for name in WRITTEN),
    Column("override_expired", Boolean),
    Column("old_override", String(1)),
    Column("old_override_until", Date),
    prefixes=["TEMPORARY"],
    postgresql_on_commit="DROP",
)


@dataclass(frozen=True)
class Sql:
    """The few expressions that differ between SQLite and PostgreSQL."""

    dialect: str

    @property
    def sqlite(self) -> bool:
        return self.dialect == "sqlite"

    def cents_sum(self, amount: Any) -> ColumnElement[Any]:
        # Whole cents: exact ties and cutoffs (SQLite keeps NUMERIC as binary floats, so sum
        # per order there) and integer sorts and running sums, much cheaper than numeric ones.
        if self.sqlite:
            return func.sum(cast(func.round(amount * 100), BigInteger))
        return cast(func.sum(amount) * 100, BigInteger)

    def money(self, cents: Any) -> ColumnElement[Any]:
        return cast(cents, Float if self.sqlite else Numeric(18, 2)) / 100

    def share(self, cents: Any, total: Any) -> ColumnElement[Any]:
        return func.round(cast(cents, Float if self.sqlite else Numeric) / total, 6)

    def days_since(self, today: date, day: Any) -> ColumnElement[Any]:
        if self.sqlite:
            return cast(func.julianday(literal(today, Date)) - func.julianday(day), Integer)
        return literal(today, Date) - day

    def new_id(self) -> ColumnElement[Any]:
        return func.fs_uuid4(type_=_ID_TYPE) if self.sqlite else func.gen_random_uuid(type_=_ID_TYPE)


def _distribution(value: Any, worst_first: bool) -> Any:
    """Per distinct value: how many customers rank worse, and how many share it. Recency and
    frequency have few distinct values, so this avoids sorting every customer for them."""
    counts = select(value, func.count().label("peers")).group_by(value).subquery()
    key = counts.c[value.name]
    before = func.sum(counts.c.peers).over(order_by=key.desc() if worst_first else key)
    return select(
        counts.c[value.name], cast(before - counts.c.peers, BigInteger).label("worse"), counts.c.peers
    ).subquery(f"{value.name}_rank")


def _quintile(worse: Any, peers: Any, ranked: Any) -> ColumnElement[Any]:
    """domain.grading._quintile in SQL: midpoint percentile in fifths, in integer arithmetic."""
    return 1 + (5 * (2 * worse + peers)) // (2 * ranked)


def _descending(value: Any) -> tuple[ColumnElement[Any], ColumnElement[Any]]:
    """Window values in `value` DESC order: how many rank before or with a row, and how many
    share its value (itself included)."""
    order = {"order_by": value.desc()}
    before_or_equal = func.count().over(**order)
    return before_or_equal, before_or_equal - func.rank().over(**order) + 1


def _by_revenue(sql: Sql, cents: Any, totals: Any) -> list[ColumnElement[Any]]:
    """Monetary quintile, ABC letter, money and share of the customers with orders.

    Richest first: the running total before a customer's group of equal revenue is what the
    richer customers hold (domain.grading.classify_abc); the same order ranks monetary.
    """
    richer_or_equal, peers = _descending(cents)
    richer = cast(func.sum(cents).over(order_by=cents.desc()), BigInteger) - cents * peers
    ranked_n, total = totals.c.n, totals.c.total
    (a_num, a_den), (b_num, b_den) = A_CUT.as_integer_ratio(), B_CUT.as_integer_ratio()
    return [
        _quintile(ranked_n - richer_or_equal, peers, ranked_n).label("m"),
        case(
            (cents <= 0, "D"),
            (richer * a_den < total * a_num, "A"),
            (richer * b_den < total * b_num, "B"),
            else_="C",
        ).label("abc"),
        sql.money(cents).label("revenue"),
        case((cents > 0, sql.share(cents, total)), else_=0).label("share"),
    ]


def changes_select(
    sql: Sql, unit_ids: list[UUID], today: date, intervals: dict[str, int], all_units: bool = False
) -> Any:
    """Customers of these units whose grading differs from what is stored, with the new values.

    all_units: these are all the units there are (one company), so every order is the company's
    and the aggregate reads orders alone, without joining customers.
    """
    c = Customer
    in_company = true() if all_units else c.org_unit_id.in_(unit_ids)
    orders = select(Order.customer_id, Order.amount, Order.ordered_on).where(
        Order.ordered_on > literal(today - timedelta(days=WINDOW_DAYS), Date),
        Order.ordered_on <= literal(today, Date),
    )
    if sql.sqlite:
        # The IN list has SQLite seek each customer's window on ix_orders_customer_id_ordered_on,
        # in customer order (no sort for the GROUP BY). Without it SQLite reads the window through
        # ix_orders_ordered_on, a table lookup per order, and sorts them: 2-3x slower.
        orders = orders.where(Order.customer_id.in_(select(c.id).where(in_company)))
    elif not all_units:
        orders = orders.join(c, c.id == Order.customer_id).where(in_company)
    window = orders.subquery("window_orders")
    agg = (
        select(
            window.c.customer_id,
            sql.cents_sum(window.c.amount).label("cents"),
            func.count().label("frequency"),
            sql.days_since(today, func.max(window.c.ordered_on)).label("recency"),
        )
        .group_by(window.c.customer_id)
        .cte("agg")
    )
    # Company totals as a one-row join: cheaper than whole-partition windows, which buffer every row.
    totals = select(
        func.count().label("n"),
        cast(func.sum(case((agg.c.cents > 0, agg.c.cents))), BigInteger).label("total"),
    ).subquery("totals")
    graded = (_graded_sqlite if sql.sqlite else _graded_joined)(sql, agg, totals, in_company, today)
    g = graded.c
    due = next_due_expr(sql.dialect, g.last_visit_on, g.new_grade, intervals, today)
    pairs = [
        (g.new_grade, g.grade),
        (g.new_computed, g.computed_grade),
        (g.new_r, g.r_score),
        (g.new_f, g.f_score),
        (g.new_m, g.m_score),
        (g.new_revenue, g.revenue_365),
        (g.new_share, g.revenue_share),
        (due, g.next_visit_due),
    ]
    return select(
        g.id, g.grade, g.new_grade, g.new_computed, g.new_r, g.new_f, g.new_m, g.new_revenue,
        g.new_share, due, g.expired, g.grade_override, g.grade_override_until,
    ).where(or_(g.expired, *(new.is_distinct_from(old) for new, old in pairs)))  # fmt: skip


_STORED = (
    "id", "grade", "computed_grade", "r_score", "f_score", "m_score", "revenue_365", "revenue_share",
    "next_visit_due", "last_visit_on", "grade_override", "grade_override_until",
)  # fmt: skip


def _graded(
    sql: Sql, c: Any, today: date, *, abc: Any, r: Any, f: Any, m: Any, revenue: Any, share: Any
) -> list[ColumnElement[Any]]:
    """Stored values next to new ones; the scores are NULL for customers without orders."""
    computed = func.coalesce(abc, "D")
    today_sql = literal(today, Date)
    until = c.grade_override_until
    override_active = and_(c.grade_override.is_not(None), or_(until.is_(None), until >= today_sql))
    return [
        *(c[name] for name in _STORED),
        computed.label("new_computed"),
        case((override_active, c.grade_override), else_=computed).label("new_grade"),
        func.coalesce(r, 1).label("new_r"),
        func.coalesce(f, 1).label("new_f"),
        func.coalesce(m, 1).label("new_m"),
        func.coalesce(revenue, sql.money(0)).label("new_revenue"),
        func.coalesce(share, 0).label("new_share"),
        case((and_(c.grade_override.is_not(None), until < today_sql), True), else_=False).label("expired"),
    ]


def _graded_joined(sql: Sql, agg: Any, totals: Any, in_company: Any, today: date) -> Any:
    """PostgreSQL: rank the customers with orders, then hash-join them and the recency and
    frequency distributions to the customers."""
    ranked = (
        select(
            agg.c.customer_id,
            agg.c.recency,
            agg.c.frequency,
            totals.c.n,
            *_by_revenue(sql, agg.c.cents, totals),
        )
        .join_from(agg, totals, true())
        .subquery("ranked")
    )
    recency = _distribution(agg.c.recency, worst_first=True)  # the longest ago is the worst
    frequency = _distribution(agg.c.frequency, worst_first=False)
    c, r = Customer.__table__.c, ranked.c
    return (
        select(
            *_graded(
                sql,
                c,
                today,
                abc=r.abc,
                m=r.m,
                revenue=r.revenue,
                share=r.share,
                r=_quintile(recency.c.worse, recency.c.peers, r.n),
                f=_quintile(frequency.c.worse, frequency.c.peers, r.n),
            )
        )
        .select_from(Customer)
        .outerjoin(ranked, r.customer_id == c.id)
        .outerjoin(recency, recency.c.recency == r.recency)
        .outerjoin(frequency, frequency.c.frequency == r.frequency)
        .where(in_company)
        .subquery("graded")
    )


def _graded_sqlite(sql: Sql, agg: Any, totals: Any, in_company: Any, today: date) -> Any:
    """SQLite: every window runs over customers LEFT JOIN agg. SQLite builds no index on a
    subquery with window functions, so joining the ranked customers and the distributions to the
    customers, as on PostgreSQL, would scan them once per customer (~6M rows for 2,500).

    Customers without orders (NULL) sort last in DESC order, after every ranked customer, so
    they change no one's counts; their own values are discarded."""
    c, n = Customer.__table__.c, totals.c.n
    older_or_equal, same_recency = _descending(agg.c.recency)  # the longest ago is the worst
    as_frequent_or_more, same_frequency = _descending(agg.c.frequency)
    scores = [
        *_by_revenue(sql, agg.c.cents, totals),
        _quintile(older_or_equal - same_recency, same_recency, n).label("r"),
        _quintile(n - as_frequent_or_more, same_frequency, n).label("f"),
    ]
    has_orders = agg.c.customer_id.is_not(None)
    ranked = (
        select(*(c[name] for name in _STORED), *(case((has_orders, s)).label(s.name) for s in scores))
        .select_from(Customer)
        .outerjoin(agg, agg.c.customer_id == c.id)
        .join(totals, true())
        .where(in_company)
        .subquery("ranked")
    )
    r = ranked.c
    scored = _graded(sql, r, today, abc=r.abc, r=r.r, f=r.f, m=r.m, revenue=r.revenue, share=r.share)
    return select(*scored).subquery("graded")
