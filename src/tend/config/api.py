"""The JSON API: one django-ninja instance; each domain adds its router here."""

from ninja import NinjaAPI

from tend.customers.api import router as customers_router

api = NinjaAPI(title="Tend API", version="1", urls_namespace="api")
api.add_router("/accounts", customers_router)
