"""The dashboard's chart data keeps Chinese readable: characters, not `\\u` escapes."""

from __future__ import annotations

import re
from typing import Any

from aiohttp.test_utils import TestClient

from tests.console.support import sign_in, staff_with_password


async def test_the_console_charts_keep_chinese_as_characters(
    console_client: TestClient[Any, Any],
) -> None:
    await staff_with_password("boss", "admin")
    await sign_in(console_client, "boss")
    page = await (await console_client.get("/console")).text()
    charts = re.findall(r'<script type="application/json" id="chart-[^"]+">(.*?)</script>', page)
    assert charts, "the dashboard has charts"
    joined = "".join(charts)
    assert "品鉴会员" in joined and "\\u54c1" not in joined
