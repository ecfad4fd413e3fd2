"""The stores page's CSV upload: it runs the stores API's import (the same parser, one
transaction, role check and audit row, via: console); a bad line is named and nothing is
imported."""

from __future__ import annotations

import io

from aiohttp import FormData

from bot.staff_api.endpoint import MAX_CSV_BYTES
from club.db.models.ledger import Store
from club.db.models.staff import AuditLog
from tests.console.support import Client, page_token, sign_in, staff_with_password

# As Excel saves "CSV UTF-8": a byte-order mark, CRLF, the level by its Chinese name.
EXCEL = (
    "\ufeffid,name,channel_level,region\r\n"
    "SH-01,上海旗舰店,重点客户,华东\r\n"
    "BJ-02,北京店,small_shop,\r\n"
)


def upload(token: str, content: bytes, filename: str = "stores.csv") -> FormData:
    form = FormData()
    form.add_field("csrf_token", token)
    # As a file object: aiohttp warns that a large body given as bytes blocks the loop.
    form.add_field("file", io.BytesIO(content), filename=filename, content_type="text/csv")
    return form


async def test_an_admin_uploads_a_store_csv_and_sees_the_stores(console_client: Client) -> None:
    await staff_with_password("ada", "admin")
    await sign_in(console_client, "ada")
    page = await (await console_client.get("/console/stores")).text()
    assert 'enctype="multipart/form-data"' in page and 'type="file"' in page
    token = await page_token(console_client, "/console/stores")

    resp = await console_client.post(
        "/console/stores/import.csv", data=upload(token, EXCEL.encode()), allow_redirects=False
    )
    assert resp.status == 303, await resp.text()
    assert resp.headers["Location"] == "/console/stores"
    page = await (await console_client.get("/console/stores")).text()
    assert "已导入：新增 2 家门店，更新 0 家，未变 0 家" in page
    assert "上海旗舰店" in page and "北京店" in page
    assert (await Store.get(id="SH-01")).channel_level == "key_account"

    # The same file with one store renamed: one updated, one unchanged.
    again = EXCEL.replace("北京店", "北京一店").encode()
    resp = await console_client.post("/console/stores/import.csv", data=upload(token, again))
    page = await resp.text()
    assert resp.status == 200 and "新增 0 家门店，更新 1 家，未变 1 家" in page
    assert "北京一店" in page
    imports = await AuditLog.filter(action="store.import").order_by("id")
    assert [(r.summary["via"], r.summary["created"], r.status) for r in imports] == [
        ("console", 2, 200),
        ("console", 0, 200),
    ]


async def test_a_file_larger_than_a_form_is_taken_up_to_the_import_limit(
    console_client: Client,
) -> None:
    """The app reads at most 64 KiB of a form; a store list is larger and goes through."""
    await staff_with_password("ada", "admin")
    await sign_in(console_client, "ada")
    token = await page_token(console_client, "/console/stores")
    lines = [f"S-{i:05d},门店第{i:05d}号（华东区域加盟店）,dealer" for i in range(1, 3001)]
    big = ("id,name,channel_level\n" + "\n".join(lines) + "\n").encode()
    assert 64 * 1024 < len(big) < MAX_CSV_BYTES
    resp = await console_client.post("/console/stores/import.csv", data=upload(token, big))
    assert resp.status == 200, await resp.text()
    assert "新增 3000 家门店" in await resp.text()
    assert await Store.all().count() == 3000

    too_big = b"id,name,channel_level\n" + b"X" * MAX_CSV_BYTES
    resp = await console_client.post("/console/stores/import.csv", data=upload(token, too_big))
    assert resp.status == 413 and "2 MiB" in await resp.text()
    # Larger than the upload's whole allowance: refused while it is read, with the same limit.
    huge = upload(token, too_big + b"X" * 128 * 1024)
    resp = await console_client.post("/console/stores/import.csv", data=huge)
    assert resp.status == 413 and "2 MiB" in await resp.text()
    assert await Store.all().count() == 3000


async def test_a_bad_line_is_named_and_nothing_is_imported(console_client: Client) -> None:
    await staff_with_password("ada", "admin")
    await sign_in(console_client, "ada")
    token = await page_token(console_client, "/console/stores")
    bad = EXCEL + "GZ-03,广州店,unknown_level,华南\r\n"
    resp = await console_client.post("/console/stores/import.csv", data=upload(token, bad.encode()))
    page = await resp.text()
    assert resp.status == 422
    assert "line 4: channel_level: &#39;unknown_level&#39; is not one of" in page
    assert await Store.all().count() == 0

    # A spreadsheet saved as plain "CSV" in a Chinese Windows is GBK, not UTF-8: said so.
    resp = await console_client.post(
        "/console/stores/import.csv", data=upload(token, EXCEL[1:].encode("gbk"))
    )
    assert resp.status == 422 and "not UTF-8" in await resp.text()
    # The form sent without a file.
    resp = await console_client.post("/console/stores/import.csv", data={"csrf_token": token})
    assert resp.status == 400 and "CSV" in await resp.text()
    assert await Store.all().count() == 0
    refused = await AuditLog.filter(action="store.import").order_by("id")
    assert [(r.status, r.summary["via"]) for r in refused] == [(422, "console")] * 2 + [
        (400, "console")
    ]


async def test_only_an_admin_may_import(console_client: Client) -> None:
    await staff_with_password("mia", "marketer")
    await sign_in(console_client, "mia")
    page = await (await console_client.get("/console/stores")).text()
    assert "上传" not in page and 'type="file"' not in page
    token = await page_token(console_client, "/console/stores")
    resp = await console_client.post(
        "/console/stores/import.csv", data=upload(token, EXCEL.encode())
    )
    assert resp.status == 403 and "市场角色无权" in await resp.text()
    assert await Store.all().count() == 0
