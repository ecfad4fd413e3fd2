"""The composer's segment builder as the server gives it: limits the rule documents accept, a
nested rule typed by hand (as without the script), and a refused form that comes back without a
second segment."""

from __future__ import annotations

import html
import json
import re
from typing import Any

import pytest

from club.db.models.campaigns import Campaign
from club.db.models.segments import Segment
from club.segments import rules
from console.web.segment_builder import GROUP_DEPTH
from tests.console.support import Client, page_token, sign_in, staff_with_password

LEAF = {"rule": "tier", "tiers": ["gold"]}
NESTED = {
    "rule": "and",
    "rules": [
        {"rule": "or", "rules": [LEAF, {"rule": "value_class", "classes": ["A"]}]},
        {"rule": "last_purchase", "within_days": 90},
        {"rule": "not", "of": {"rule": "tags", "tags": ["x"], "match": "any"}},
    ],
}


def deepest(groups: int) -> dict[str, Any]:
    """What the builder writes at its worst: `groups` groups, one inside the other, each of two
    items and negated, the innermost holding a negated condition."""
    rule: dict[str, Any] = {"rule": "not", "of": LEAF}
    for _ in range(groups):
        rule = {"rule": "not", "of": {"rule": "or", "rules": [rule, LEAF]}}
    return rule


def test_groups_nest_as_deep_as_every_document_they_write_is_accepted() -> None:
    rules.check_shape(rules.parse(deepest(GROUP_DEPTH)))
    with pytest.raises(ValueError, match="nest at most"):
        rules.check_shape(rules.parse(deepest(GROUP_DEPTH + 1)))


async def test_the_limit_is_shown_and_a_nested_rule_typed_by_hand_is_saved(
    console_client: Client,
) -> None:
    await staff_with_password("mia", "marketer")
    await sign_in(console_client, "mia")
    page = await (await console_client.get("/console/campaigns/new")).text()
    assert f"条件组最多嵌套 {GROUP_DEPTH} 层" in page
    console_client.session.cookie_jar.update_cookies({"clubbot_console_lang": "en"})
    english = await (await console_client.get("/console/campaigns/new")).text()
    assert f"groups nest {GROUP_DEPTH} deep at most" in english
    assert '"add_group": "Add a group"' in english  # the script's words, in the page's language
    console_client.session.cookie_jar.update_cookies({"clubbot_console_lang": "zh"})
    token = await page_token(console_client, "/console/campaigns/new")
    resp = await console_client.post(
        "/console/campaigns",
        data=_form(token, rule=json.dumps(NESTED)),
        allow_redirects=False,
    )
    assert resp.status == 303, await resp.text()
    assert (await Segment.get()).rule == NESTED


async def test_a_refused_form_comes_back_with_its_rule_and_one_segment(
    console_client: Client,
) -> None:
    await staff_with_password("mia", "marketer")
    await sign_in(console_client, "mia")
    token = await page_token(console_client, "/console/campaigns/new")
    rule = json.dumps(NESTED)
    # The form's own check refuses it: no segment is saved for it.
    resp = await console_client.post("/console/campaigns", data=_form(token, rule, holdout="十"))
    assert resp.status == 422 and "holdout_percent" in (page := await resp.text())
    assert await Segment.all().count() == 0
    assert json.loads(_rule_field(page)) == NESTED  # the builder reads it back from here
    # The campaign API refuses it after the segment was saved: the page comes back with that
    # segment chosen, and sending the form again saves the campaign without a second segment.
    resp = await console_client.post("/console/campaigns", data=_form(token, rule, holdout="60"))
    assert resp.status == 422
    segment = await Segment.get()
    chosen = re.search(r'<option value="(\d+)" selected>', await resp.text())
    assert chosen and chosen.group(1) == str(segment.id)
    again = _form(token, rule, holdout="0") | {"segment_id": chosen.group(1)}
    resp = await console_client.post("/console/campaigns", data=again, allow_redirects=False)
    assert resp.status == 303, await resp.text()
    assert await Segment.all().count() == 1
    assert (await Campaign.get()).segment_id == segment.id


def _form(token: str, rule: str, holdout: str = "0") -> dict[str, str]:
    return {
        "csrf_token": token,
        "name": "老客回访",
        "segment_id": "new",
        "rule": rule,
        "text": "老朋友，好久不见",
        "holdout_percent": holdout,
    }


def _rule_field(page: str) -> str:
    found = re.search(r'<textarea id="c-rule" name="rule"[^>]*>(.*?)</textarea>', page, re.S)
    assert found
    return html.unescape(found.group(1))
