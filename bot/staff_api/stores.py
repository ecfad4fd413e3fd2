"""Stores: list, create, rename or move, close and reopen, import a CSV, print a QR code."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Annotated

from pydantic import Field, model_validator

from bot.staff_api.endpoint import Call, Endpoint
from bot.staff_api.errors import ApiError
from bot.staff_api.qrcodes import QrCodeOut, qr_maker, qr_out
from bot.staff_api.schemas import ONE_LINE, In, Out
from club.dates import CALENDAR, Day
from club.members.sources import SourceError, store_qr_code
from club.rules.channels import STORE_ID_PATTERN, ChannelLevel, StoreStatus
from club.sales import stores
from club.sales.store_csv import StoreCsvError, parse_store_csv
from club.staff.accounts import Permission

StoreName = Annotated[str, Field(min_length=1, max_length=128), ONE_LINE]
Region = Annotated[str, Field(min_length=1, max_length=64), ONE_LINE]
KEYS = {"store_id": STORE_ID_PATTERN}


class StoreIn(In):
    id: Annotated[str, Field(pattern=STORE_ID_PATTERN)] = Field(
        description="The store's code (1-32 letters, digits, '_' or '-'), as purchases name it"
    )
    name: StoreName
    channel_level: ChannelLevel
    region: Region | None = None


class StoreUpdateIn(In):
    name: StoreName | None = None
    channel_level: ChannelLevel | None = Field(
        default=None, description="A change is kept in the store's level history"
    )
    region: Region | None = Field(default=None, description="null clears the region")

    @model_validator(mode="after")
    def _something(self) -> StoreUpdateIn:
        if not self.model_fields_set:
            raise ValueError("give at least one of name, channel_level, region")
        if "name" in self.model_fields_set and self.name is None:
            raise ValueError("name cannot be null")
        if "channel_level" in self.model_fields_set and self.channel_level is None:
            raise ValueError("channel_level cannot be null")
        return self


class StoreQuery(In):
    status: StoreStatus | None = None
    channel_level: ChannelLevel | None = None
    region: Region | None = None


class StoreDayQuery(In):
    on: Day | None = Field(
        default=None,
        description=f"Also answer the channel level the store had at the end of this day "
        f"({CALENDAR})",
    )


class LevelChangeOut(Out):
    at: datetime
    from_level: ChannelLevel | None = Field(description="null: the store was created at to_level")
    to_level: ChannelLevel
    actor_id: int | None
    actor_name: str | None


class StoreOut(Out):
    id: str
    name: str
    channel_level: ChannelLevel
    region: str | None
    status: StoreStatus
    closed_at: datetime | None
    created_at: datetime | None
    has_qr_code: bool


class StoreDetailOut(StoreOut):
    level_history: list[LevelChangeOut]
    level_on: ChannelLevel | None = Field(description="The level at the end of the day `on` asked")


class StoreList(Out):
    stores: list[StoreOut]


class StoreImportOut(Out):
    created: list[str]
    updated: list[str]
    unchanged: int
    level_changes: int


def _out(view: stores.StoreView) -> StoreOut:
    return StoreOut(
        id=view.id, name=view.name, channel_level=view.channel_level, region=view.region,
        status=view.status, closed_at=view.closed_at, created_at=view.created_at,
        has_qr_code=view.qr_ticket is not None,
    )  # fmt: skip


def _actor(call: Call) -> stores.Actor:
    return stores.Actor(call.staff.id, call.staff.name)


def _store_id(call: Call) -> str:
    store_id = call.keys["store_id"]
    call.target = f"store:{store_id}"
    return store_id


async def _detail(call: Call, view: stores.StoreView) -> StoreDetailOut:
    history = await stores.level_history(view.id)
    on = call.query_as(StoreDayQuery).on if isinstance(call.query, StoreDayQuery) else None
    level = None
    if on is not None:
        end = datetime.combine(on + timedelta(days=1), time(), call.now.tzinfo)
        level = stores.level_at(history, view.channel_level, end - timedelta(microseconds=1))
    return StoreDetailOut(
        **_out(view).model_dump(),
        level_history=[LevelChangeOut.model_validate(h) for h in history],
        level_on=level,
    )


async def list_stores(call: Call) -> StoreList:
    query = call.query_as(StoreQuery)
    found = await stores.list_stores(
        status=query.status, channel_level=query.channel_level, region=query.region
    )
    return StoreList(stores=[_out(s) for s in found])


async def get_store(call: Call) -> StoreDetailOut:
    return await _detail(call, await stores.get_store(_store_id(call)))


async def create_store(call: Call) -> StoreDetailOut:
    body = call.body_as(StoreIn)
    call.target = f"store:{body.id}"
    view, created = await stores.create_store(
        body.id, body.name, body.channel_level, body.region, call.now, _actor(call)
    )
    call.summary["created"] = created
    return await _detail(call, view)


async def update_store(call: Call) -> StoreDetailOut:
    body = call.body_as(StoreUpdateIn)
    store_id = _store_id(call)
    extra = {"region": body.region} if "region" in body.model_fields_set else {}
    change = await stores.update_store(
        store_id, call.now, _actor(call), name=body.name, channel_level=body.channel_level,
        **extra,
    )  # fmt: skip
    call.summary["changed"] = ",".join(change.changed)
    return await _detail(call, change.store)


async def close_store(call: Call) -> StoreDetailOut:
    change = await stores.set_store_status(_store_id(call), StoreStatus.CLOSED, call.now)
    call.summary["changed"] = bool(change.changed)
    return await _detail(call, change.store)


async def reopen_store(call: Call) -> StoreDetailOut:
    change = await stores.set_store_status(_store_id(call), StoreStatus.OPEN, call.now)
    call.summary["changed"] = bool(change.changed)
    return await _detail(call, change.store)


async def import_stores(call: Call) -> StoreImportOut:
    call.target = "stores"
    try:
        rows = parse_store_csv(call.text or "")
    except StoreCsvError as exc:
        where = f"line {exc.line}" + (f".{exc.column}" if exc.column else "")
        raise ApiError(422, "invalid", str(exc), fields=[where]) from None
    result = await stores.import_stores(rows, call.now, _actor(call))
    call.summary.update(
        lines=len(rows), created=len(result.created), updated=len(result.updated),
        unchanged=result.unchanged, level_changes=result.level_changes,
        stores=",".join([*result.created, *result.updated]),
    )  # fmt: skip
    return StoreImportOut(
        created=list(result.created), updated=list(result.updated),
        unchanged=result.unchanged, level_changes=result.level_changes,
    )  # fmt: skip


async def store_qr(call: Call) -> QrCodeOut:
    store_id = _store_id(call)
    try:
        view = await store_qr_code(store_id, qr_maker(call))
    except LookupError:
        raise stores.StoreNotFound(store_id) from None
    except SourceError as exc:
        raise ApiError(409, "store_closed", str(exc)) from None
    return qr_out(view, call)


_NOT_FOUND = {404: "No store with this id"}
ENDPOINTS = [
    Endpoint(
        method="GET",
        path="/api/v1/stores",
        view=list_stores,
        operation_id="listStores",
        summary="List stores, optionally by status, channel level or region",
        permission=Permission.READ_STORES,
        query=StoreQuery,
        response=StoreList,
    ),
    Endpoint(
        method="POST",
        path="/api/v1/stores",
        view=create_store,
        operation_id="createStore",
        summary="Create a store",
        description=(
            "The same id with the same values again answers the store (a retry); the id with "
            "other values is refused (409): rename or move a store with PATCH."
        ),
        permission=Permission.MANAGE_STORES,
        body=StoreIn,
        response=StoreDetailOut,
        status=201,
        errors={409: "The store id is taken by a store with other values"},
        audit="store.create",
    ),
    Endpoint(
        method="POST",
        path="/api/v1/stores/import",
        view=import_stores,
        operation_id="importStores",
        summary="Create or update stores from a CSV file",
        description=(
            "A `text/csv` body (UTF-8; a byte-order mark is fine) with a header line naming the "
            "columns `id`, `name`, `channel_level` (the code or its Chinese name, e.g. "
            "`key_account` or `重点客户`) and optionally `region`. Every line is checked first: "
            "a bad line answers 422 naming the line (the header is line 1) and the column, and "
            "nothing is imported. Importing the same file again changes nothing. Level changes "
            "are kept in each store's history; a closed store stays closed."
        ),
        permission=Permission.MANAGE_STORES,
        csv_body=True,
        response=StoreImportOut,
        audit="store.import",
    ),
    Endpoint(
        method="GET",
        path="/api/v1/stores/{store_id}",
        view=get_store,
        operation_id="getStore",
        summary="Read a store with the history of its channel level",
        permission=Permission.READ_STORES,
        query=StoreDayQuery,
        response=StoreDetailOut,
        errors=_NOT_FOUND,
        keys=KEYS,
    ),
    Endpoint(
        method="PATCH",
        path="/api/v1/stores/{store_id}",
        view=update_store,
        operation_id="updateStore",
        summary="Rename a store or change its level or region",
        description="Fields left out stay as they are. A level change is kept in the history.",
        permission=Permission.MANAGE_STORES,
        body=StoreUpdateIn,
        response=StoreDetailOut,
        errors=_NOT_FOUND,
        keys=KEYS,
        audit="store.update",
    ),
    Endpoint(
        method="POST",
        path="/api/v1/stores/{store_id}/close",
        view=close_store,
        operation_id="closeStore",
        summary="Close a store",
        description="Purchases are no longer recorded at a closed store; its history stays.",
        permission=Permission.MANAGE_STORES,
        response=StoreDetailOut,
        errors=_NOT_FOUND,
        keys=KEYS,
        audit="store.close",
    ),
    Endpoint(
        method="POST",
        path="/api/v1/stores/{store_id}/reopen",
        view=reopen_store,
        operation_id="reopenStore",
        summary="Reopen a closed store",
        permission=Permission.MANAGE_STORES,
        response=StoreDetailOut,
        errors=_NOT_FOUND,
        keys=KEYS,
        audit="store.reopen",
    ),
    Endpoint(
        method="POST",
        path="/api/v1/stores/{store_id}/qrcode",
        view=store_qr,
        operation_id="storeQrCode",
        summary="Get the store's permanent QR code",
        description=(
            "Made through WeChat (`qrcode/create`, scene `store_<id>`) the first time and kept: "
            "asking again answers the same ticket without calling WeChat. A member who follows "
            "through it is recorded as coming from the store."
        ),
        permission=Permission.MANAGE_STORES,
        response=QrCodeOut,
        errors={**_NOT_FOUND, 409: "The store is closed", 502: "WeChat refused or failed"},
        keys=KEYS,
        audit="store.qrcode",
    ),
]
