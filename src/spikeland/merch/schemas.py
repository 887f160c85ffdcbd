"""The catalogue on the wire: what anyone sees (no cost prices, no provider SKUs) and what admins edit.

Money is GBP ``Decimal`` end to end: ``numeric(10,2)`` in the database, a decimal string such as
``"24.99"`` in JSON (a number is accepted in requests), never a float in between.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, Field, StringConstraints, model_validator

from spikeland.core.schemas import TEXT_WHITESPACE, RequestSchema, Schema, no_control
from spikeland.merch.models import PodProvider


def _line(value: str) -> str:
    return no_control(value)


def _text(value: str) -> str:
    return no_control(value, TEXT_WHITESPACE)


Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), AfterValidator(_line)
]
Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=5000), AfterValidator(_text)]
Slug = Annotated[str, StringConstraints(min_length=1, max_length=60, pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$")]
Id = Annotated[str, StringConstraints(min_length=1, max_length=64)]
# numeric(10,2): at most 8 digits before the point.
Price = Annotated[Decimal, Field(gt=0, max_digits=10, decimal_places=2)]
Delta = Annotated[Decimal, Field(ge=-99_999_999, max_digits=10, decimal_places=2)]
Pixels = Annotated[int, Field(ge=1, le=100_000)]
Order = Annotated[int, Field(ge=0, le=1_000_000)]


_U = TypeVar("_U", bound=RequestSchema)


def _no_nulls(update: _U, *nullable: str) -> _U:
    """An update may leave out what the table requires, not set it to null."""
    cleared = [
        name for name in update.model_fields_set if name not in nullable and getattr(update, name) is None
    ]
    if cleared:
        raise ValueError(f"{', '.join(sorted(cleared))} cannot be null")
    return update


# ----------------------------------------------------------------------------- public


class CategoryOut(Schema):
    id: str
    name: str
    slug: str
    description: str | None
    icon: str | None
    sort_order: int


class CategoryList(Schema):
    items: list[CategoryOut]


class CategoryBrief(Schema):
    id: str
    name: str
    slug: str


class VariantOut(Schema):
    id: str
    name: str
    price_delta: Decimal
    price: Decimal = Field(description="The product's retail price plus this variant's delta (GBP).")
    attributes: dict[str, Any] | None


class ProductOut(Schema):
    id: str
    name: str
    description: str | None
    category: CategoryBrief
    retail_price: Decimal = Field(description='GBP, VAT included; a decimal string such as "24.99".')
    currency: str
    min_dpi: int
    min_width: int = Field(description="The fewest pixels across an image needs to print well.")
    min_height: int
    print_area_width: int | None
    print_area_height: int | None
    mockup_template: str | None
    sort_order: int
    variants: list[VariantOut] | None = Field(
        default=None, description="Active variants, cheapest first (the list: only with includeVariants)."
    )


class ProductPage(Schema):
    items: list[ProductOut]
    total: int
    limit: int
    offset: int


# ----------------------------------------------------------------------------- admin


class AdminCategoryOut(CategoryOut):
    is_active: bool
    created_at: datetime
    updated_at: datetime


class AdminCategoryList(Schema):
    items: list[AdminCategoryOut]


class AdminVariantOut(Schema):
    id: str
    product_id: str
    name: str
    provider_sku: str
    price_delta: Decimal
    is_active: bool
    attributes: dict[str, Any] | None
    created_at: datetime
    updated_at: datetime


class AdminProductOut(Schema):
    id: str
    name: str
    description: str | None
    category_id: str
    provider: PodProvider
    provider_sku: str
    base_price: Decimal = Field(description="What the provider charges us (GBP).")
    retail_price: Decimal
    currency: str
    is_active: bool
    min_dpi: int
    min_width: int
    min_height: int
    print_area_width: int | None
    print_area_height: int | None
    mockup_template: str | None
    sort_order: int
    created_at: datetime
    updated_at: datetime
    variants: list[AdminVariantOut]


class AdminProductPage(Schema):
    items: list[AdminProductOut]
    total: int
    limit: int
    offset: int


class CategoryCreate(RequestSchema):
    name: Name
    slug: Slug
    description: Text | None = None
    icon: Name | None = None
    sort_order: Order | None = Field(default=None, description="Default: after every category.")
    is_active: bool = True


class CategoryUpdate(RequestSchema):
    name: Name | None = None
    slug: Slug | None = None
    description: Text | None = None
    icon: Name | None = None
    sort_order: Order | None = None
    is_active: bool | None = None

    @model_validator(mode="after")
    def _required_stay_set(self) -> CategoryUpdate:
        return _no_nulls(self, "description", "icon")


class ProductCreate(RequestSchema):
    name: Name
    description: Text | None = None
    category_id: Id
    provider: PodProvider
    provider_sku: Name
    base_price: Price
    retail_price: Price
    min_dpi: Annotated[int, Field(ge=72, le=1200)] = 150
    min_width: Pixels = 1800
    min_height: Pixels = 1800
    print_area_width: Pixels | None = None
    print_area_height: Pixels | None = None
    mockup_template: Annotated[str, StringConstraints(max_length=500)] | None = None
    sort_order: Order | None = Field(
        default=None, description="Default: after every product of its category."
    )
    is_active: bool = True


class ProductUpdate(RequestSchema):
    name: Name | None = None
    description: Text | None = None
    category_id: Id | None = None
    provider: PodProvider | None = None
    provider_sku: Name | None = None
    base_price: Price | None = None
    retail_price: Price | None = None
    min_dpi: Annotated[int, Field(ge=72, le=1200)] | None = None
    min_width: Pixels | None = None
    min_height: Pixels | None = None
    print_area_width: Pixels | None = None
    print_area_height: Pixels | None = None
    mockup_template: Annotated[str, StringConstraints(max_length=500)] | None = None
    sort_order: Order | None = None
    is_active: bool | None = None

    @model_validator(mode="after")
    def _required_stay_set(self) -> ProductUpdate:
        return _no_nulls(self, "description", "print_area_width", "print_area_height", "mockup_template")


class VariantCreate(RequestSchema):
    name: Name
    provider_sku: Name
    price_delta: Delta = Decimal(0)
    is_active: bool = True
    attributes: dict[str, Any] | None = Field(default=None, max_length=50)


class VariantUpdate(RequestSchema):
    name: Name | None = None
    provider_sku: Name | None = None
    price_delta: Delta | None = None
    is_active: bool | None = None
    attributes: dict[str, Any] | None = Field(default=None, max_length=50)

    @model_validator(mode="after")
    def _required_stay_set(self) -> VariantUpdate:
        return _no_nulls(self, "attributes")


# ----------------------------------------------------------------------------- cart

MAX_QUANTITY = 100
Quantity = Annotated[int, Field(ge=1, le=MAX_QUANTITY)]


class CartItemCreate(RequestSchema):
    product_id: Id
    variant_id: Id | None = None
    image_id: Id = Field(description="One of the caller's images; its best version is printed.")
    quantity: Quantity = 1
    custom_text: (
        Annotated[str, StringConstraints(strip_whitespace=True, max_length=200), AfterValidator(_line)] | None
    ) = None


class CartItemUpdate(RequestSchema):
    quantity: Quantity


class CartLineOut(Schema):
    id: str
    product_id: str
    product_name: str
    variant_id: str | None
    variant_name: str | None
    image_id: str | None
    quantity: int
    custom_text: str | None
    unit_price: Decimal = Field(description="Today's price of one (GBP, VAT included).")
    line_price: Decimal
    available: bool = Field(description="False once the product or variant is no longer sold.")


class CartOut(Schema):
    id: str | None = Field(description="None until the first item is added.")
    items: list[CartLineOut]
    item_count: int = Field(description="The sum of the quantities.")
    subtotal: Decimal = Field(description="The available lines' prices (GBP).")
    currency: str = "GBP"


# ----------------------------------------------------------------------------- checkout and orders

Country = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
Email = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
]
Phone = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=40, pattern=r"^[0-9+()\-. ]{3,40}$")
]
Line = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), AfterValidator(_line)
]


class Address(RequestSchema):
    name: Line
    line1: Line
    line2: Line | None = None
    city: Line
    state: Line | None = None
    postal_code: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20)]
    country_code: Country = Field(description="ISO 3166-1 alpha-2: GB or an EU member state.")
    phone: Phone | None = None


class CheckoutRequest(RequestSchema):
    shipping_address: Address
    billing_address: Address | None = None
    customer_email: Email
    customer_phone: Phone | None = None
    notes: (
        Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000), AfterValidator(_text)]
        | None
    ) = None


class CheckoutSummary(Schema):
    subtotal: Decimal
    shipping: Decimal
    shipping_zone: str
    free_shipping_threshold: Decimal
    tax: Decimal = Field(description="The VAT contained in the total (prices include VAT).")
    total: Decimal
    currency: str
    item_count: int


class CheckoutOut(Schema):
    order_id: str
    order_number: str
    client_secret: str = Field(description="The PaymentIntent's client secret, for Stripe.js to confirm.")
    summary: CheckoutSummary


class OrderItemOut(Schema):
    id: str
    product_id: str
    variant_id: str | None
    product_name: str
    variant_name: str | None
    image_url: str
    quantity: int
    unit_price: Decimal
    total_price: Decimal
    custom_text: str | None
    pod_status: str | None
    shipment_id: str | None


class ShipmentOut(Schema):
    id: str
    carrier: str | None
    tracking_number: str | None
    tracking_url: str | None
    status: str
    shipped_at: datetime | None
    delivered_at: datetime | None


class OrderEventOut(Schema):
    id: str
    type: str
    data: dict[str, Any] | None
    created_at: datetime


class OrderOut(Schema):
    id: str
    order_number: str
    status: str
    subtotal: Decimal
    shipping_cost: Decimal
    tax_amount: Decimal
    total_amount: Decimal
    currency: str
    shipping_address: dict[str, Any]
    billing_address: dict[str, Any] | None
    customer_email: str
    customer_phone: str | None
    notes: str | None
    created_at: datetime
    paid_at: datetime | None
    items: list[OrderItemOut]
    shipments: list[ShipmentOut]


class OrderPage(Schema):
    items: list[OrderOut]
    next_cursor: str | None


class AdminOrderOut(OrderOut):
    user_id: str
    stripe_payment_intent_id: str | None
    stripe_payment_status: str | None
    updated_at: datetime
    events: list[OrderEventOut]


class AdminOrderPage(Schema):
    items: list[OrderOut]
    next_cursor: str | None


class CancelRequest(RequestSchema):
    reason: (
        Annotated[str, StringConstraints(strip_whitespace=True, max_length=500), AfterValidator(_text)] | None
    ) = None
