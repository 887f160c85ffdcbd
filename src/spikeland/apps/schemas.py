"""Apps on the wire: bounded texts (the original's limits), requirements and monetization models."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints, model_validator

from spikeland.apps.models import (
    AppStatus,
    MonetizationType,
    RequirementPriority,
    RequirementStatus,
    SubscriptionInterval,
)
from spikeland.core.schemas import TEXT_WHITESPACE, RequestSchema, Schema, no_control


def _text(value: str) -> str:
    return no_control(value, TEXT_WHITESPACE)


def _line(value: str) -> str:
    return no_control(value)


Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=3, max_length=50, pattern=r"^[A-Za-z0-9 -]+$")
]
Description = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=10, max_length=500), AfterValidator(_text)
]
RequirementText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=3, max_length=2000), AfterValidator(_text)
]
Feature = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), AfterValidator(_line)
]


class RequirementIn(RequestSchema):
    description: RequirementText
    priority: RequirementPriority = RequirementPriority.MEDIUM


class MonetizationIn(RequestSchema):
    """A price is charged for every type but FREE (> 0, at most 2 decimals); a SUBSCRIPTION names its
    interval, no other type may."""

    type: MonetizationType
    price: Annotated[Decimal, Field(gt=0, max_digits=10, decimal_places=2)] | None = None
    subscription_interval: SubscriptionInterval | None = None
    features: list[Feature] = Field(default_factory=list, max_length=20)

    @model_validator(mode="after")
    def _consistent(self) -> MonetizationIn:
        if self.type == MonetizationType.FREE and self.price is not None:
            raise ValueError("a FREE model has no price")
        if self.type != MonetizationType.FREE and self.price is None:
            raise ValueError(f"a {self.type.value} model needs a price above 0")
        if (self.type == MonetizationType.SUBSCRIPTION) != (self.subscription_interval is not None):
            raise ValueError("subscriptionInterval is required for SUBSCRIPTION and refused otherwise")
        return self


class AppCreate(RequestSchema):
    name: Name
    description: Description | None = None
    requirements: list[RequirementIn] = Field(default_factory=list, max_length=50)
    monetization_models: list[MonetizationIn] = Field(default_factory=list, max_length=10)


class AppUpdate(RequestSchema):
    name: Name | None = None
    description: Description | None = None


class StatusChange(RequestSchema):
    status: AppStatus


class RequirementUpdate(RequestSchema):
    """A new text needs the version it was edited from (409 when someone changed it since)."""

    description: RequirementText | None = None
    priority: RequirementPriority | None = None
    version: int | None = Field(default=None, ge=1)


class RequirementStatusChange(RequestSchema):
    status: RequirementStatus


class RequirementOut(Schema):
    id: str
    description: str
    priority: RequirementPriority
    status: RequirementStatus
    version: int
    created_at: datetime
    updated_at: datetime


class MonetizationOut(Schema):
    id: str
    type: MonetizationType
    price: Decimal | None
    subscription_interval: SubscriptionInterval | None
    features: list[str]


class AppOut(Schema):
    id: str
    name: str
    description: str | None
    user_id: str
    forked_from: str | None
    status: AppStatus
    domain: str | None
    created_at: datetime
    updated_at: datetime


class AppDetail(AppOut):
    requirements: list[RequirementOut]
    monetization_models: list[MonetizationOut]


class AppPage(Schema):
    items: list[AppOut]
    next_cursor: str | None
