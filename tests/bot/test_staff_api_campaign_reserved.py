"""Staff see a campaign's bonus points reserved and not yet credited or given back
(`points_reserved`) beside the points awarded: in the campaign (`GET /api/v1/campaigns/{id}`),
its progress, the list, the OpenAPI document and the console's campaign page. Against the fake
WeChat: the members wait for the mass send with their bonus reserved, then it goes."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.bot.test_staff_api_campaign_bonus import BONUS, mass_waiting, settings_with_fake_wechat
from tests.bot.test_staff_api_campaign_pause import read
from tests.bot.test_staff_api_support import Client
from tests.club.campaign_support import settle
from tests.console.support import sign_in, staff_with_password
from tests.fakes import FakeWeChat

__all__ = ["settings_with_fake_wechat"]  # the fixture: the app sends to the fake WeChat

MEMBERS = 60


async def figures(client: Client, cid: int, headers: dict[str, Any]) -> dict[str, int]:
    """What the staff API says of the campaign's bonus, in the campaign, its progress and the
    list."""
    found = await read(client, cid, headers)
    resp = await client.get("/api/v1/campaigns", headers=headers)
    [listed] = [c for c in (await resp.json())["campaigns"] if c["id"] == cid]
    return {
        "awarded": found["points_awarded"],
        "reserved": found["points_reserved"],
        "progress_awarded": found["progress"]["points_awarded"],
        "progress_reserved": found["progress"]["points_reserved"],
        "listed_reserved": listed["points_reserved"],
        "listed_progress_reserved": listed["progress"]["points_reserved"],
    }


def both(awarded: int, reserved: int) -> dict[str, int]:
    return {
        "awarded": awarded,
        "reserved": reserved,
        "progress_awarded": awarded,
        "progress_reserved": reserved,
        "listed_reserved": reserved,
        "listed_progress_reserved": reserved,
    }


async def console_figures(client: Client, cid: int) -> tuple[str, str]:
    """(points awarded, points reserved) as the console's campaign page shows them."""
    page = await (await client.get(f"/console/campaigns/{cid}")).text()
    shown = dict(re.findall(r"<li><span>(已发奖励积分|预留奖励积分)</span><b>([^<]*)</b>", page))
    return shown["已发奖励积分"], shown["预留奖励积分"]


@pytest.mark.campaigns(template_daily_quota=0)
async def test_staff_see_the_points_reserved_until_the_message_goes(
    client: Client, fake_wechat: FakeWeChat
) -> None:
    cid, headers = await mass_waiting(client, MEMBERS)
    assert await figures(client, cid, headers) == both(0, MEMBERS * BONUS)
    await staff_with_password("mia", "marketer")
    assert (await sign_in(client, "mia")).status == 303
    assert await console_figures(client, cid) == ("0", "600")

    await settle(client)  # the mass send goes: WeChat took it
    assert fake_wechat.count("message/mass/sendall") == 1
    assert await figures(client, cid, headers) == both(MEMBERS * BONUS, 0)
    assert await console_figures(client, cid) == ("600", "0")


async def test_the_openapi_document_describes_points_reserved(client: Client) -> None:
    schemas = (await (await client.get("/api/openapi.json")).json())["components"]["schemas"]
    for name in ("CampaignOut", "ProgressOut"):
        described = schemas[name]
        assert "points_reserved" in described["required"], name
        assert described["properties"]["points_reserved"]["type"] == "integer", name
        assert "reserved" in described["properties"]["points_reserved"]["description"], name
