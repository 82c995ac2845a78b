"""REST API for accounts and contacts."""

from tend.core.rest import entity_router
from tend.customers.models import Account, Contact
from tend.imports.entities import ACCOUNTS, CONTACTS

accounts_router = entity_router(
    ACCOUNTS,
    Account,
    tag="accounts",
    filters=("lifecycle_stage", "owner", "industry", "country", "parent"),
)
contacts_router = entity_router(
    CONTACTS, Contact, tag="contacts", filters=("account", "lifecycle_group", "email")
)
