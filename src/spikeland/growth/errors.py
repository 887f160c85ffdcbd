"""The growth domain's errors: each a stable code clients can rely on."""

from __future__ import annotations

from spikeland.core.errors import Conflict, NotFound


class VoucherNotFound(NotFound):
    code = "voucher_not_found"


class VoucherUnavailable(Conflict):
    """Inactive, expired or depleted. ``stale`` says the stored status still reads ACTIVE although
    the facts (expiry, uses) say otherwise: the caller should record the status in a transaction of
    its own, since this error rolls back the one it happened in."""

    def __init__(self, message: str, *, code: str, voucher_id: str, stale: bool = False) -> None:
        super().__init__(message, code=code)
        self.voucher_id = voucher_id
        self.stale = stale


class VoucherAlreadyRedeemed(Conflict):
    code = "voucher_already_redeemed"


class VoucherCodeTaken(Conflict):
    code = "voucher_code_taken"


class AlreadySubscribed(Conflict):
    code = "already_subscribed"
