"""All models, imported here so metadata (and Alembic) sees every table."""

from server.db.models.actuals import rep_day_actuals
from server.db.models.audit import AuditEntry
from server.db.models.checkins import Checkin, Promise
from server.db.models.customers import Customer, GradeChange, VisitPolicy
from server.db.models.digests import Digest
from server.db.models.escalations import Escalation, EscalationEvent
from server.db.models.evidence import VisitPhoto
from server.db.models.evidence_forms import VisitForm, VisitFormAnswer, VisitFormVersion
from server.db.models.forecasts import Forecast, ForecastAccuracy, ForecastRun
from server.db.models.jobs import JobRun
from server.db.models.notifications import Notification, PushSubscription
from server.db.models.orders import Order
from server.db.models.org import Holiday, OrgSettings, OrgUnit
from server.db.models.pipeline import Opportunity, OpportunityStage, OpportunityStageChange
from server.db.models.plans import SeasonalDistribution, Target, TargetAdjustment
from server.db.models.rep_plans import RepPlan, RepPlanComment, RepPlanItem
from server.db.models.tasks import DailyPlan, Task
from server.db.models.users import AuthToken, LoginAttempt, LoginThrottle, User

__all__ = [
    "AuditEntry",
    "AuthToken",
    "Checkin",
    "Customer",
    "DailyPlan",
    "Digest",
    "Escalation",
    "EscalationEvent",
    "Forecast",
    "ForecastAccuracy",
    "ForecastRun",
    "GradeChange",
    "Holiday",
    "JobRun",
    "LoginAttempt",
    "LoginThrottle",
    "Notification",
    "Opportunity",
    "OpportunityStage",
    "OpportunityStageChange",
    "Order",
    "OrgSettings",
    "OrgUnit",
    "Promise",
    "PushSubscription",
    "RepPlan",
    "RepPlanComment",
    "RepPlanItem",
    "SeasonalDistribution",
    "Target",
    "TargetAdjustment",
    "Task",
    "User",
    "VisitForm",
    "VisitFormAnswer",
    "VisitFormVersion",
    "VisitPhoto",
    "VisitPolicy",
    "rep_day_actuals",
]
