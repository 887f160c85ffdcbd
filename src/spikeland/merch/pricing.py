"""What an order costs: shipping zones and charges, and the VAT its total contains. One module, one
table of rates, so a rate change is one line.

Prices are VAT-inclusive (GBP), as the catalogue shows them: the customer pays subtotal plus
shipping, and ``taxAmount`` is the VAT contained in that total at the destination's standard rate
(``total * rate / (100 + rate)``, half-up to the penny). Shipping is a flat charge per zone, free
from a subtotal threshold (the original platform's values). Only the UK and the EU are served.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

PENNY = Decimal("0.01")


class Zone(StrEnum):
    UK = "UK"
    EU = "EU"


@dataclass(frozen=True)
class ShippingRate:
    cost: Decimal
    free_from: Decimal  # a subtotal of at least this ships free


SHIPPING = {
    Zone.UK: ShippingRate(Decimal("4.99"), Decimal("55.00")),
    Zone.EU: ShippingRate(Decimal("9.99"), Decimal("65.00")),
}

# Standard VAT rates (%) by ISO country code, as in force in December 2026.
VAT_RATES: dict[str, Decimal] = {
    "GB": Decimal(20),
    "AT": Decimal(20),
    "BE": Decimal(21),
    "BG": Decimal(20),
    "HR": Decimal(25),
    "CY": Decimal(19),
    "CZ": Decimal(21),
    "DK": Decimal(25),
    "EE": Decimal(24),
    "FI": Decimal("25.5"),
    "FR": Decimal(20),
    "DE": Decimal(19),
    "GR": Decimal(24),
    "HU": Decimal(27),
    "IE": Decimal(23),
    "IT": Decimal(22),
    "LV": Decimal(21),
    "LT": Decimal(21),
    "LU": Decimal(17),
    "MT": Decimal(18),
    "NL": Decimal(21),
    "PL": Decimal(23),
    "PT": Decimal(23),
    "RO": Decimal(21),
    "SK": Decimal(23),
    "SI": Decimal(22),
    "ES": Decimal(21),
    "SE": Decimal(25),
}


def zone_of(country: str) -> Zone | None:
    """The shipping zone of an ISO 3166-1 alpha-2 code; None where we do not ship."""
    if country == "GB":
        return Zone.UK
    return Zone.EU if country in VAT_RATES else None


def pennies(amount: Decimal) -> Decimal:
    return amount.quantize(PENNY, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Totals:
    zone: Zone
    subtotal: Decimal
    shipping: Decimal
    free_shipping_from: Decimal
    tax: Decimal
    total: Decimal


def totals(country: str, subtotal: Decimal) -> Totals | None:
    """The order's figures for a delivery to ``country``; None where we do not ship."""
    zone = zone_of(country)
    if zone is None:
        return None
    rate = SHIPPING[zone]
    subtotal = pennies(subtotal)
    shipping = Decimal("0.00") if subtotal >= rate.free_from else rate.cost
    total = subtotal + shipping
    vat = VAT_RATES[country]
    tax = pennies(total * vat / (100 + vat))
    return Totals(zone, subtotal, shipping, rate.free_from, tax, total)


def in_pence(amount: Decimal) -> int:
    """A GBP amount as Stripe's integer minor units."""
    return int(pennies(amount) * 100)
