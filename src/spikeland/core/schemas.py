"""Base class of every wire schema: camelCase JSON, snake_case Python."""

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class Schema(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, from_attributes=True)


class ErrorDetail(Schema):
    code: str
    message: str
    details: object | None = None


class ErrorResponse(Schema):
    error: ErrorDetail
