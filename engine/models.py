"""All tables behind one import: ``from engine.models import X`` for any model.

Each layer owns its tables (``engine.workflow.models``, ``engine.kia.models``, ``engine.ops.models``);
this module imports them all, so that ``Base.metadata`` holds the whole schema.
"""

from engine.kia.models import (
    ApiToken,
    Application,
    Conversation,
    DistributionBatch,
    DistributionItem,
    Document,
    InboundMessage,
    Kecamatan,
    MessageStatus,
    PopulationRecord,
    Region,
    User,
)
from engine.ops.models import AuditEntry
from engine.workflow.models import (
    Base,
    CalendarOverride,
    DeliveryAttempt,
    Event,
    Incident,
    Instance,
    Outbox,
    OutboxStatus,
    ProcessVersion,
    RateLimit,
    Revision,
    TaskRow,
    TaskRowState,
    Timer,
    TimerKind,
    TimerState,
    UTCDateTime,
)

__all__ = [
    "ApiToken",
    "Application",
    "AuditEntry",
    "Base",
    "CalendarOverride",
    "Conversation",
    "DeliveryAttempt",
    "DistributionBatch",
    "DistributionItem",
    "Document",
    "Event",
    "Incident",
    "InboundMessage",
    "Instance",
    "Kecamatan",
    "MessageStatus",
    "Outbox",
    "OutboxStatus",
    "PopulationRecord",
    "ProcessVersion",
    "RateLimit",
    "Region",
    "Revision",
    "TaskRow",
    "TaskRowState",
    "Timer",
    "TimerKind",
    "TimerState",
    "User",
    "UTCDateTime",
]
