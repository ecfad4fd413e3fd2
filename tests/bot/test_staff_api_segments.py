"""Segments and tags over the staff API: save, preview (masked), tag in bulk, upload lists."""

from __future__ import annotations

from club.db.models.members import Member
from club.db.models.segments import MemberTag, Segment, SegmentMember
from tests.bot.test_staff_api_support import Client, audit_rows, error_of, staff_headers

CSV = {"Content-Type": "text/csv"}


async def members(n: int) -> list[Member]:
    return [
        await Member.create(
            openid=f"o-seg-{i}",
            name=f"M{i}",
            phone=f"1390000{i:04d}",
            tier="gold" if i % 2 else None,
        )
        for i in range(n)
    ]


async def test_a_rule_segment_is_saved_and_previewed_with_masked_phones(client: Client) -> None:
    headers = await staff_headers()
    await members(4)
    rule = {
        "rule": "and",
        "rules": [
            {"rule": "tier", "tiers": ["gold"]},
            {"rule": "not", "of": {"rule": "status", "statuses": ["blocked"]}},
        ],
    }
    resp = await client.post(
        "/api/v1/segments", json={"name": "gold", "rule": rule}, headers=headers["marketer"]
    )
    assert resp.status == 201, await resp.text()
    saved = await resp.json()
    assert saved["kind"] == "rule" and saved["rule"] == rule
    resp = await client.get(f"/api/v1/segments/{saved['id']}/preview", headers=headers["admin"])
    preview = await resp.json()
    assert preview["count"] == 2
    assert [m["phone"] for m in preview["sample"]] == ["139****0003", "139****0001"]
    [row] = await audit_rows("segment.create")
    assert row.target == f"segment:{saved['id']}" and row.status == 201
    # The same name again is refused.
    resp = await client.post(
        "/api/v1/segments", json={"name": "gold", "rule": rule}, headers=headers["admin"]
    )
    assert (await error_of(resp, 409))["code"] == "name_taken"


async def test_clerks_may_not_touch_segments_or_tags(client: Client) -> None:
    headers = (await staff_headers())["clerk"]
    resp = await client.get("/api/v1/segments", headers=headers)
    assert (await error_of(resp, 403))["code"] == "forbidden"
    resp = await client.post(
        "/api/v1/tags/add", json={"tag": "x", "member_ids": [1]}, headers=headers
    )
    await error_of(resp, 403)


async def test_value_rules_are_accepted_and_evaluated(client: Client) -> None:
    headers = (await staff_headers())["marketer"]
    body = {"name": "key", "rule": {"rule": "value_class", "classes": ["A"]}}
    resp = await client.post("/api/v1/segments", json=body, headers=headers)
    assert resp.status == 201, await resp.text()
    resp = await client.post(
        "/api/v1/segments/preview",
        json={"rule": {"rule": "churn_risk", "levels": ["high"]}},
        headers=headers,
    )
    assert resp.status == 200 and (await resp.json())["count"] == 0


async def test_members_are_tagged_in_bulk_by_ids_openids_phones_and_csv(client: Client) -> None:
    headers = (await staff_headers())["marketer"]
    ms = await members(5)
    resp = await client.post(
        "/api/v1/tags/add",
        json={"tag": "宴请", "member_ids": [ms[0].id, ms[1].id]},
        headers=headers,
    )
    assert await resp.json() == {"tag": "宴请", "members": 2, "changed": 2, "unchanged": 0}
    resp = await client.post(
        "/api/v1/tags/add", json={"tag": "宴请", "openids": ["o-seg-1", "o-seg-2"]}, headers=headers
    )
    assert (await resp.json())["changed"] == 1
    resp = await client.post(
        "/api/v1/tags/add", json={"tag": "宴请", "phones": ["139 0000 0003"]}, headers=headers
    )
    assert (await resp.json())["changed"] == 1
    resp = await client.post(
        "/api/v1/tags/upload?tag=csv",
        data="openid,name\no-seg-0,A\no-seg-4,B\n",
        headers={**headers, **CSV},
    )
    assert (await resp.json())["changed"] == 2, await resp.text()
    resp = await client.get("/api/v1/tags", headers=headers)
    assert await resp.json() == {
        "tags": [{"tag": "csv", "members": 2}, {"tag": "宴请", "members": 4}]
    }
    resp = await client.post(
        "/api/v1/tags/remove", json={"tag": "宴请", "member_ids": [ms[0].id]}, headers=headers
    )
    assert (await resp.json())["changed"] == 1
    rule = {"rule": "tags", "tags": ["宴请", "csv"], "match": "all"}
    resp = await client.post("/api/v1/segments/preview", json={"rule": rule}, headers=headers)
    assert [m["name"] for m in (await resp.json())["sample"]] == []
    rule["match"] = "any"
    resp = await client.post("/api/v1/segments/preview", json={"rule": rule}, headers=headers)
    assert (await resp.json())["count"] == 5


async def test_a_bad_entry_is_a_422_naming_it_and_nothing_is_written(client: Client) -> None:
    headers = (await staff_headers())["marketer"]
    ms = await members(3)
    resp = await client.post(
        "/api/v1/tags/add", json={"tag": "t", "member_ids": [ms[0].id, 999999]}, headers=headers
    )
    error = await error_of(resp, 422)
    assert (
        error["fields"] == ["member_ids[1]"]
        and "no member with member_id 999999" in error["message"]
    )
    csv = "phone\n13900000000\n13900000001\nnot a phone\n13900000002\n"
    resp = await client.post("/api/v1/tags/upload?tag=t", data=csv, headers={**headers, **CSV})
    error = await error_of(resp, 422)
    assert error["message"].startswith("line 4: not a mobile number"), error
    resp = await client.post(
        "/api/v1/segments/upload?name=list", data=csv, headers={**headers, **CSV}
    )
    assert (await error_of(resp, 422))["message"].startswith("line 4")
    assert await MemberTag.all().count() == 0
    assert await Segment.all().count() == 0 and await SegmentMember.all().count() == 0


async def test_a_fixed_list_is_uploaded_as_csv_and_as_json(client: Client) -> None:
    headers = (await staff_headers())["marketer"]
    ms = await members(3)
    csv = "member_id\n" + "\n".join(str(m.id) for m in ms[:2]) + "\n"
    resp = await client.post(
        "/api/v1/segments/upload?name=uploaded", data=csv, headers={**headers, **CSV}
    )
    assert resp.status == 201, await resp.text()
    listed = await resp.json()
    assert listed["kind"] == "list" and listed["list_size"] == 2
    body = {"name": "typed", "members": {"openids": ["o-seg-2"]}}
    resp = await client.post("/api/v1/segments", json=body, headers=headers)
    typed = await resp.json()
    rule = {
        "rule": "or",
        "rules": [
            {"rule": "in_list", "segment_id": listed["id"]},
            {"rule": "in_list", "segment_id": typed["id"]},
        ],
    }
    resp = await client.post("/api/v1/segments/preview", json={"rule": rule}, headers=headers)
    assert (await resp.json())["count"] == 3
    resp = await client.get("/api/v1/segments", headers=headers)
    assert [s["name"] for s in (await resp.json())["segments"]] == ["uploaded", "typed"]
