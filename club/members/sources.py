"""Where a member came from: the store or staff member behind a QR scene, and those QR codes.

A follow through a parametric QR code `store_<id>` or `staff_<id>` is kept on the member as
(source_kind, source_ref). This module names that source (the store's name, the staff member's
name) for the member's data view and the staff API, and makes each store's or staff member's
permanent QR code once: the ticket is kept on the row, so asking again never calls WeChat again.
WeChat itself is behind a port (`MakeQrCode`), since the domain does not speak to WeChat.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from club.db.models.ledger import Store
from club.db.models.staff import StaffUser
from club.rules.channels import STORE_ID, StoreStatus

STORE = "store"
STAFF = "staff"


@dataclass(frozen=True)
class Source:
    kind: str
    """`store` or `staff`."""
    ref: str
    name: str | None
    """The store's or staff member's name; None when the scene names no known one."""

    @property
    def scene(self) -> str:
        return f"{self.kind}_{self.ref}"


@dataclass(frozen=True)
class MadeQrCode:
    ticket: str
    url: str
    """What the code holds (WeChat's `url`)."""


@dataclass(frozen=True)
class QrCodeView:
    scene: str
    ticket: str
    url: str | None
    created: bool
    """False: the code was made before and WeChat was not asked again."""


MakeQrCode = Callable[[str], Awaitable[MadeQrCode]]
"""Make a permanent QR code for a scene string (WeChat's `qrcode/create`, QR_LIMIT_STR_SCENE)."""


class SourceError(Exception):
    """No QR code can be made for this store or staff member; the message says why."""


async def describe_source(kind: str | None, ref: str | None) -> Source | None:
    """The source of a member, with its name when it is a known store or staff member."""
    if kind is None or ref is None:
        return None
    name: str | None = None
    if kind == STORE:
        store = await Store.get_or_none(id=ref)
        name = store.name if store is not None else None
    elif kind == STAFF and ref.isascii() and ref.isdigit() and len(ref) <= 18:
        staff = await StaffUser.get_or_none(id=int(ref))
        name = staff.name if staff is not None else None
    return Source(kind, ref, name)


async def kept_store_qr_code(store_id: str) -> QrCodeView | None:
    """The store's code if it was made, None if not; WeChat is never asked. The same refusals
    as `store_qr_code`: a code that would bring no one is not handed out."""
    store = await Store.get_or_none(id=store_id)
    if store is None:
        raise LookupError(f"no store with id {store_id!r}")
    if store.status == StoreStatus.CLOSED:
        raise SourceError(f"store {store_id!r} is closed: its QR code would bring no one")
    if not STORE_ID.match(store_id):
        raise SourceError(f"store id {store_id!r} cannot be a QR scene: recreate the store")
    return _kept(f"{STORE}_{store_id}", store.qr_ticket, store.qr_url)


async def store_qr_code(store_id: str, make: MakeQrCode) -> QrCodeView:
    """The store's permanent QR code (`store_<id>`), made once. LookupError for no such store;
    SourceError for a closed store or an id that does not fit a scene."""
    kept = await kept_store_qr_code(store_id)
    if kept is not None:
        return kept
    scene = f"{STORE}_{store_id}"
    made = await make(scene)
    # Two requests at once may both ask WeChat (it answers the same scene alike); the first
    # ticket stored is the one everybody gets from then on.
    won = await Store.filter(id=store_id, qr_ticket=None).update(
        qr_ticket=made.ticket, qr_url=made.url
    )
    if not won:
        store = await Store.get(id=store_id)
        return QrCodeView(scene, str(store.qr_ticket), store.qr_url, created=False)
    return QrCodeView(scene, made.ticket, made.url, created=True)


async def kept_staff_qr_code(staff_id: int) -> QrCodeView | None:
    """A staff member's code if it was made, None if not; WeChat is never asked. The same
    refusals as `staff_qr_code`."""
    staff = await StaffUser.get_or_none(id=staff_id)
    if staff is None:
        raise LookupError(f"no staff account with id {staff_id}")
    if not staff.active:
        raise SourceError(f"staff account {staff.name!r} is revoked")
    return _kept(f"{STAFF}_{staff_id}", staff.qr_ticket, staff.qr_url)


async def staff_qr_code(staff_id: int, make: MakeQrCode) -> QrCodeView:
    """A staff member's permanent QR code (`staff_<id>`), made once. LookupError for no such
    account; SourceError for a revoked one."""
    kept = await kept_staff_qr_code(staff_id)
    if kept is not None:
        return kept
    scene = f"{STAFF}_{staff_id}"
    made = await make(scene)
    won = await StaffUser.filter(id=staff_id, qr_ticket=None).update(
        qr_ticket=made.ticket, qr_url=made.url
    )
    if not won:
        staff = await StaffUser.get(id=staff_id)
        return QrCodeView(scene, str(staff.qr_ticket), staff.qr_url, created=False)
    return QrCodeView(scene, made.ticket, made.url, created=True)


def _kept(scene: str, ticket: str | None, url: str | None) -> QrCodeView | None:
    return QrCodeView(scene, ticket, url, created=False) if ticket else None
