"""REST API for survey responses."""

from tend.core.rest import entity_router
from tend.imports.entities import SURVEY_RESPONSES
from tend.surveys.models import SurveyResponse

responses_router = entity_router(
    SURVEY_RESPONSES,
    SurveyResponse,
    tag="survey responses",
    filters=("account", "contact", "survey"),
)
