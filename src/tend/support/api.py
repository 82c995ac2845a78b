"""REST API for tickets and touchpoints."""

from tend.core.rest import entity_router
from tend.imports.entities import TICKETS, TOUCHPOINTS
from tend.support.models import Ticket, Touchpoint

tickets_router = entity_router(
    TICKETS, Ticket, tag="tickets", filters=("account", "status", "priority", "topic")
)
touchpoints_router = entity_router(
    TOUCHPOINTS, Touchpoint, tag="touchpoints", filters=("account", "kind", "csm")
)
