"""Photos for review: a customer's photo history and a rep's day of visits with their photos.

Scoped like check-ins (by the visit's rep); one query per list, never one per visit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from uuid import UUID

from sqlalchemy import select

from server.core.access import Scope
from server.core.errors import not_found
from server.core.services import Service
from server.db.models import Checkin, Customer, User, VisitPhoto
from server.services.checkins.reads import start_of

HISTORY_LIMIT = 60


@dataclass(frozen=True)
class ReviewedPhoto:
    photo: VisitPhoto
    rep_name: str
    customer_name: str


@dataclass
class VisitPhotos:
    checkin: Checkin
    customer_name: str
    photos: list[VisitPhoto] = field(default_factory=list)


class PhotoReviewService(Service):
    async def customer_history(
        self, scope: Scope, customer_id: UUID, limit: int = HISTORY_LIMIT
    ) -> list[ReviewedPhoto]:
        """The customer's photos the caller may see, newest first."""
        customer = await self.session.get(Customer, customer_id)
        if customer is None or not scope.sees_customer(customer.owner_rep_id, customer.org_unit_id):
            raise not_found("Customer", customer_id, "customer_id")
        rows = await self.session.execute(
            select(VisitPhoto, User.name)
            .join(User, User.id == VisitPhoto.rep_id)
            .where(
                VisitPhoto.customer_id == customer_id,
                VisitPhoto.deleted_at.is_(None),
                scope.user_clause(VisitPhoto.rep_id),
            )
            .order_by(VisitPhoto.received_at.desc(), VisitPhoto.id)
            .limit(limit)
        )
        return [ReviewedPhoto(photo, rep_name, customer.name) for photo, rep_name in rows]

    async def rep_day(self, scope: Scope, rep_id: UUID, day: date, tz: str) -> list[VisitPhotos]:
        """The rep's visits on `day` (in `tz`) with their photos, in visit order."""
        rows = await self.session.execute(
            select(Checkin, Customer.name)
            .join(Customer, Customer.id == Checkin.customer_id)
            .where(
                Checkin.rep_id == rep_id,
                scope.user_clause(Checkin.rep_id),
                Checkin.checked_in_at >= start_of(day, tz),
                Checkin.checked_in_at < start_of(day + timedelta(days=1), tz),
            )
            .order_by(Checkin.checked_in_at, Checkin.id)
        )
        visits = {checkin.id: VisitPhotos(checkin, name) for checkin, name in rows}
        if visits:
            photos = await self.session.scalars(
                select(VisitPhoto)
                .where(VisitPhoto.checkin_id.in_(list(visits)), VisitPhoto.deleted_at.is_(None))
                .order_by(VisitPhoto.received_at, VisitPhoto.id)
            )
            for photo in photos:
                visits[photo.checkin_id].photos.append(photo)
        return list(visits.values())
