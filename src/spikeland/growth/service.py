"""The growth domain's service API, for routers and other domains.

Vouchers (admin CRUD, status rules) live in ``vouchers``, checking and redeeming codes in
``redemption``, trials in ``trial``, referrals in ``referrals`` (fraud rules in ``fraud``).
Billing runs ``apply_purchase_bonus`` after crediting a token-pack purchase (contract (a)), through
its ``on_tokens_purchased`` hook (registered by ``growth.hooks.register``).
"""

from __future__ import annotations

from spikeland.growth.redemption import Redeemed, apply_purchase_bonus, check, redeem, validate
from spikeland.growth.referrals import Link, Outcome, Stats, complete, link, record_signup, stats
from spikeland.growth.vouchers import (
    VoucherView,
    create_voucher,
    delete_voucher,
    get_voucher,
    list_vouchers,
    remaining_uses,
    settle_all,
    settle_status,
    update_voucher,
)

__all__ = [
    "Link",
    "Outcome",
    "Redeemed",
    "Stats",
    "VoucherView",
    "apply_purchase_bonus",
    "check",
    "complete",
    "create_voucher",
    "delete_voucher",
    "get_voucher",
    "link",
    "list_vouchers",
    "record_signup",
    "redeem",
    "remaining_uses",
    "settle_all",
    "settle_status",
    "stats",
    "update_voucher",
    "validate",
]
