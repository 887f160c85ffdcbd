"""Merch tables of the specification: merch_categories, merch_products, merch_variants, merch_carts,
merch_cart_items, merch_orders, merch_order_items, merch_shipments, merch_order_events,
merch_webhook_events (in ``ops.models``); and merch_fulfilment_jobs, an addition (migration 0009).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import Index
from sqlalchemy.orm import Mapped, mapped_column

from spikeland.db.base import (
    Base,
    Json,
    enum_default,
    fk,
    id_column,
    now_default,
    pg_enum,
    server_default,
    updated_at,
)
from spikeland.db.enums import JobStatus


class PodProvider(StrEnum):
    PRODIGI = "PRODIGI"  # Prodigi print-on-demand
    PRINTFUL = "PRINTFUL"  # Printful print-on-demand


class MerchOrderStatus(StrEnum):
    PENDING = "PENDING"  # Order created, awaiting payment
    PAYMENT_PENDING = "PAYMENT_PENDING"  # Payment authorized
    PAID = "PAID"  # Payment captured
    SUBMITTED = "SUBMITTED"  # Sent to POD provider
    IN_PRODUCTION = "IN_PRODUCTION"  # Being manufactured
    SHIPPED = "SHIPPED"  # In transit
    DELIVERED = "DELIVERED"  # Delivered
    CANCELLED = "CANCELLED"  # Cancelled
    REFUNDED = "REFUNDED"  # Fully refunded


class ShipmentStatus(StrEnum):
    PENDING = "PENDING"  # Shipment pending
    PROCESSING = "PROCESSING"  # Being processed
    SHIPPED = "SHIPPED"  # Shipped
    IN_TRANSIT = "IN_TRANSIT"  # In transit
    OUT_FOR_DELIVERY = "OUT_FOR_DELIVERY"  # Out for delivery
    DELIVERED = "DELIVERED"  # Delivered
    FAILED = "FAILED"  # Delivery failed


class MerchCategory(Base):
    __tablename__ = "merch_categories"
    __table_args__ = (
        Index(None, "name", unique=True),
        Index(None, "slug", unique=True),
        Index(None, "isActive", "sortOrder"),
    )

    id: Mapped[str] = id_column()
    name: Mapped[str] = mapped_column("name")
    slug: Mapped[str] = mapped_column("slug")
    description: Mapped[str | None] = mapped_column("description")
    icon: Mapped[str | None] = mapped_column("icon")
    sort_order: Mapped[int] = mapped_column("sortOrder", server_default=server_default(0))
    is_active: Mapped[bool] = mapped_column("isActive", server_default=server_default(True))
    created_at: Mapped[datetime] = now_default()
    updated_at: Mapped[datetime] = updated_at()


class MerchProduct(Base):
    __tablename__ = "merch_products"
    __table_args__ = (
        Index(None, "categoryId", "isActive"),
        Index(None, "provider", "providerSku"),
        Index(None, "isActive", "sortOrder"),
    )

    id: Mapped[str] = id_column()
    name: Mapped[str] = mapped_column("name")
    description: Mapped[str | None] = mapped_column("description")
    category_id: Mapped[str] = mapped_column("categoryId", fk("merch_categories.id", "RESTRICT"))
    provider: Mapped[PodProvider] = mapped_column("provider", pg_enum(PodProvider))
    provider_sku: Mapped[str] = mapped_column("providerSku")
    base_price: Mapped[Decimal] = mapped_column("basePrice")
    retail_price: Mapped[Decimal] = mapped_column("retailPrice")
    currency: Mapped[str] = mapped_column("currency", server_default=server_default("GBP"))
    is_active: Mapped[bool] = mapped_column("isActive", server_default=server_default(True))
    min_dpi: Mapped[int] = mapped_column("minDpi", server_default=server_default(150))
    min_width: Mapped[int] = mapped_column("minWidth", server_default=server_default(1800))
    min_height: Mapped[int] = mapped_column("minHeight", server_default=server_default(1800))
    print_area_width: Mapped[int | None] = mapped_column("printAreaWidth")
    print_area_height: Mapped[int | None] = mapped_column("printAreaHeight")
    mockup_template: Mapped[str | None] = mapped_column("mockupTemplate")
    sort_order: Mapped[int] = mapped_column("sortOrder", server_default=server_default(0))
    created_at: Mapped[datetime] = now_default()
    updated_at: Mapped[datetime] = updated_at()


class MerchVariant(Base):
    __tablename__ = "merch_variants"
    __table_args__ = (Index(None, "productId", "isActive"),)

    id: Mapped[str] = id_column()
    product_id: Mapped[str] = mapped_column("productId", fk("merch_products.id", "CASCADE"))
    name: Mapped[str] = mapped_column("name")
    provider_sku: Mapped[str] = mapped_column("providerSku")
    price_delta: Mapped[Decimal] = mapped_column("priceDelta", server_default=server_default(0))
    is_active: Mapped[bool] = mapped_column("isActive", server_default=server_default(True))
    attributes: Mapped[Any] = mapped_column("attributes", Json, nullable=True)
    created_at: Mapped[datetime] = now_default()
    updated_at: Mapped[datetime] = updated_at()


class MerchCart(Base):
    __tablename__ = "merch_carts"
    __table_args__ = (Index(None, "userId", unique=True),)

    id: Mapped[str] = id_column()
    user_id: Mapped[str] = mapped_column("userId", fk("users.id", "CASCADE"))
    created_at: Mapped[datetime] = now_default()
    updated_at: Mapped[datetime] = updated_at()


class MerchCartItem(Base):
    __tablename__ = "merch_cart_items"
    __table_args__ = (
        Index(None, "cartId", "productId", "variantId", "imageId", "uploadedImageR2Key", unique=True),
        Index(None, "cartId"),
        Index(None, "productId"),
        Index(None, "variantId"),  # FK index, migration 0002
        Index(None, "imageId"),  # FK index, migration 0002
    )

    id: Mapped[str] = id_column()
    cart_id: Mapped[str] = mapped_column("cartId", fk("merch_carts.id", "CASCADE"))
    product_id: Mapped[str] = mapped_column("productId", fk("merch_products.id", "RESTRICT"))
    variant_id: Mapped[str | None] = mapped_column("variantId", fk("merch_variants.id", "SET NULL"))
    image_id: Mapped[str | None] = mapped_column("imageId", fk("enhanced_images.id", "SET NULL"))
    uploaded_image_r2_key: Mapped[str | None] = mapped_column("uploadedImageR2Key")
    uploaded_image_url: Mapped[str | None] = mapped_column("uploadedImageUrl")
    quantity: Mapped[int] = mapped_column("quantity", server_default=server_default(1))
    custom_text: Mapped[str | None] = mapped_column("customText")
    created_at: Mapped[datetime] = now_default()
    updated_at: Mapped[datetime] = updated_at()


class MerchOrder(Base):
    __tablename__ = "merch_orders"
    __table_args__ = (
        Index(None, "orderNumber", unique=True),
        Index(None, "stripePaymentIntentId", unique=True),
        Index(None, "userId", "createdAt"),
        Index(None, "status"),
        Index(None, "createdAt", "id"),  # every order newest first (admin lists), migration 0013
        Index(None, "customerEmail"),  # the admin lists' search, migration 0013
    )

    id: Mapped[str] = id_column()
    user_id: Mapped[str] = mapped_column("userId", fk("users.id", "RESTRICT"))
    order_number: Mapped[str] = mapped_column("orderNumber")
    status: Mapped[MerchOrderStatus] = mapped_column(
        "status",
        pg_enum(MerchOrderStatus),
        server_default=enum_default(MerchOrderStatus.PENDING),
    )
    subtotal: Mapped[Decimal] = mapped_column("subtotal")
    shipping_cost: Mapped[Decimal] = mapped_column("shippingCost")
    tax_amount: Mapped[Decimal] = mapped_column("taxAmount", server_default=server_default(0))
    total_amount: Mapped[Decimal] = mapped_column("totalAmount")
    currency: Mapped[str] = mapped_column("currency", server_default=server_default("GBP"))
    stripe_payment_intent_id: Mapped[str | None] = mapped_column("stripePaymentIntentId")
    stripe_payment_status: Mapped[str | None] = mapped_column("stripePaymentStatus")
    shipping_address: Mapped[Any] = mapped_column("shippingAddress", Json, nullable=False)
    billing_address: Mapped[Any] = mapped_column("billingAddress", Json, nullable=True)
    customer_email: Mapped[str] = mapped_column("customerEmail")
    customer_phone: Mapped[str | None] = mapped_column("customerPhone")
    notes: Mapped[str | None] = mapped_column("notes")
    created_at: Mapped[datetime] = now_default()
    updated_at: Mapped[datetime] = updated_at()
    paid_at: Mapped[datetime | None] = mapped_column("paidAt")


class MerchOrderItem(Base):
    __tablename__ = "merch_order_items"
    __table_args__ = (
        Index(None, "orderId"),
        Index(None, "podOrderId"),
        Index(None, "productId"),  # FK index, migration 0002
        Index(None, "variantId"),  # FK index, migration 0002
        Index(None, "shipmentId"),  # FK index, migration 0002
    )

    id: Mapped[str] = id_column()
    order_id: Mapped[str] = mapped_column("orderId", fk("merch_orders.id", "CASCADE"))
    product_id: Mapped[str] = mapped_column("productId", fk("merch_products.id", "RESTRICT"))
    variant_id: Mapped[str | None] = mapped_column("variantId", fk("merch_variants.id", "SET NULL"))
    product_name: Mapped[str] = mapped_column("productName")
    variant_name: Mapped[str | None] = mapped_column("variantName")
    image_url: Mapped[str] = mapped_column("imageUrl")
    image_r2_key: Mapped[str] = mapped_column("imageR2Key")
    quantity: Mapped[int] = mapped_column("quantity")
    unit_price: Mapped[Decimal] = mapped_column("unitPrice")
    total_price: Mapped[Decimal] = mapped_column("totalPrice")
    custom_text: Mapped[str | None] = mapped_column("customText")
    pod_order_id: Mapped[str | None] = mapped_column("podOrderId")
    pod_status: Mapped[str | None] = mapped_column("podStatus")
    created_at: Mapped[datetime] = now_default()
    updated_at: Mapped[datetime] = updated_at()
    shipment_id: Mapped[str | None] = mapped_column("shipmentId", fk("merch_shipments.id", "SET NULL"))


class MerchShipment(Base):
    __tablename__ = "merch_shipments"
    __table_args__ = (
        Index(None, "orderId"),
        Index(None, "trackingNumber"),
    )

    id: Mapped[str] = id_column()
    order_id: Mapped[str] = mapped_column("orderId", fk("merch_orders.id", "CASCADE"))
    provider: Mapped[PodProvider] = mapped_column("provider", pg_enum(PodProvider))
    provider_ship_id: Mapped[str | None] = mapped_column("providerShipId")
    carrier: Mapped[str | None] = mapped_column("carrier")
    tracking_number: Mapped[str | None] = mapped_column("trackingNumber")
    tracking_url: Mapped[str | None] = mapped_column("trackingUrl")
    status: Mapped[ShipmentStatus] = mapped_column(
        "status",
        pg_enum(ShipmentStatus),
        server_default=enum_default(ShipmentStatus.PENDING),
    )
    shipped_at: Mapped[datetime | None] = mapped_column("shippedAt")
    delivered_at: Mapped[datetime | None] = mapped_column("deliveredAt")
    created_at: Mapped[datetime] = now_default()
    updated_at: Mapped[datetime] = updated_at()


class MerchOrderEvent(Base):
    __tablename__ = "merch_order_events"
    __table_args__ = (Index(None, "orderId", "createdAt"),)

    id: Mapped[str] = id_column()
    order_id: Mapped[str] = mapped_column("orderId", fk("merch_orders.id", "CASCADE"))
    type: Mapped[str] = mapped_column("type")
    data: Mapped[Any] = mapped_column("data", Json, nullable=True)
    created_at: Mapped[datetime] = now_default()


class FulfilmentKind(StrEnum):
    SUBMIT = "SUBMIT"  # send the paid order to the print provider
    APPLY = "APPLY"  # apply a stored provider event


class MerchFulfilmentJob(Base):
    """The job runner's queue of fulfilment work (migration 0009 says why it is a table of its own)."""

    __tablename__ = "merch_fulfilment_jobs"
    __table_args__ = (
        Index(None, "eventId", unique=True),
        Index(None, "orderId"),
        Index(None, "status", "updatedAt"),
    )

    id: Mapped[str] = id_column()
    kind: Mapped[str] = mapped_column("kind")
    order_id: Mapped[str | None] = mapped_column("orderId", fk("merch_orders.id", "CASCADE"))
    event_id: Mapped[str | None] = mapped_column("eventId", fk("merch_webhook_events.id", "CASCADE"))
    status: Mapped[JobStatus] = mapped_column(
        "status", pg_enum(JobStatus), server_default=enum_default(JobStatus.PENDING)
    )
    error_message: Mapped[str | None] = mapped_column("errorMessage")
    retry_count: Mapped[int] = mapped_column("retryCount", server_default=server_default(0))
    max_retries: Mapped[int] = mapped_column("maxRetries", server_default=server_default(5))
    run_after: Mapped[datetime | None] = mapped_column("runAfter")
    processing_started_at: Mapped[datetime | None] = mapped_column("processingStartedAt")
    processing_completed_at: Mapped[datetime | None] = mapped_column("processingCompletedAt")
    created_at: Mapped[datetime] = now_default()
    updated_at: Mapped[datetime] = updated_at()
