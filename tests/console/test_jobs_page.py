"""The console's scheduled-jobs page: each job's recent runs, as the runner recorded them (real
jobs run through it), a failed, long-running or missed run marked in words, counts by name, the
next run in the club's time zone. It reads the staff API's `listJobRuns` (admins, marketers)."""

from __future__ import annotations

import re

import pytest

from bot.deps import DEPS
from bot.schedule import JOBS
from club.clock import FixedClock
from club.job_runs import RunStarter
from console.i18n import translator
from console.web.jobs import count_label, job_name
from scheduler.app import Runtime
from tests.console.support import Client, sign_in, staff_with_password
from tests.scheduler.history import PASSWORD, PHONE, make_history

PAGE = "/console/jobs"


def row(html: str, job: str, day: str) -> str:
    found = re.search(rf'<tr id="run-{job}-{day}"[^>]*>.*?</tr>', html, re.S)
    assert found, (job, day)
    return found.group(0)


def text(fragment: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", fragment).split())


async def history_page(
    console_client: Client, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> str:
    """The page an admin finds on 23 November at 09:00 (tests.scheduler.history)."""
    await make_history(Runtime(console_client.app[DEPS]), clock, monkeypatch)
    await staff_with_password("ada", "admin")
    await sign_in(console_client, "ada")
    resp = await console_client.get(PAGE)
    assert resp.status == 200, await resp.text()
    return await resp.text()


async def test_an_admin_sees_failed_long_and_missed_runs_marked(
    console_client: Client, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    html = await history_page(console_client, clock, monkeypatch)
    assert f'href="{PAGE}" aria-current="page"' in html  # in the menu
    assert "Asia/Shanghai" in html

    # The next run, in the club's time zone.
    caption = html.split('id="job-expire-points"')[1].split("</caption>")[0]
    assert "积分过期与提醒" in caption and "下次运行 " in text(caption)
    assert "2026-11-24 03:00" in caption
    assert "2026-11-23 10:00" in html.split('id="job-birthday"')[1].split("</caption>")[0]

    # Marks in words (and a symbol), not by colour alone.
    missed = row(html, "birthday", "2026-11-21")
    assert 'data-mark="missed"' in missed and "⚠ 未运行" in text(missed)
    failed = row(html, "churn-scan", "2026-11-22")
    assert 'data-mark="failed"' in failed and "✗ 失败" in text(failed)
    assert "OperationalError: invalid input for query argument" in failed
    assert PHONE not in html and "138****5678" in failed and PASSWORD not in html
    long = row(html, "value-refresh", "2026-11-22")
    assert 'data-mark="long"' in long and "运行过久" in text(long)
    fine = row(html, "value-refresh", "2026-11-23")
    assert "data-mark" not in fine and "✓ 完成" in text(fine)

    # Counts by name; a resumed run says its counts are its last attempt's only.
    resumed = text(row(html, "birthday", "2026-11-22"))
    assert "查到的会员 1" in resumed and "过生日的会员 1" in resumed
    assert "2 计数仅为最后一次尝试的结果" in resumed
    expiry = text(row(html, "expire-points", "2026-11-23"))
    assert "过期积分 0" in expiry and "到期提醒 0" in expiry and "_" not in expiry
    # A job off the schedule, run by hand, has its table too.
    assert "自动化活动" in html and "不定时，手动运行" in html

    english = await console_client.get("/console/lang/en", params={"next": PAGE})
    html = await english.text()
    assert "✗ failed" in text(row(html, "churn-scan", "2026-11-22"))
    assert "counts of the last attempt only" in html and "Next run" in html


def caption(html: str, job: str) -> str:
    return text(html.split(f'id="job-{job}"')[1].split("</caption>")[0])


async def test_each_day_says_on_time_made_up_and_how_or_not_made_up(
    console_client: Client, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    html = await history_page(console_client, clock, monkeypatch)
    assert "✓ 准时" in text(row(html, "festival", "2026-11-22"))
    # Failed at 10:00, run again by hand at 10:05.
    by_hand = row(html, "birthday", "2026-11-22")
    assert 'data-timing="made_up"' in by_hand
    assert "↻ 已补上：手动运行（python -m scheduler run），2026-11-22 10:05" in text(by_hand)
    # The start-up catch-up ran the 21st's expiry at 02:10 on the 22nd.
    assert "↻ 已补上：启动时补运行，2026-11-22 02:10" in text(
        row(html, "expire-points", "2026-11-21")
    )
    # A day with no run, or a failed or killed one, of a job whose next run does its work.
    for day in ("2026-11-21", "2026-11-22"):
        covered = row(html, "value-refresh", day)
        assert "↻ 已由 2026-11-23 的运行补上（定时运行），2026-11-23 02:00" in text(covered), day
    failed = row(html, "churn-scan", "2026-11-22")
    assert "✗ 失败" in text(failed) and "已由 2026-11-23 的运行补上" in text(failed)
    # A greeting of a day gone is never made up.
    missed = row(html, "birthday", "2026-11-21")
    assert 'data-mark="missed"' in missed and "⚠ 未补上" in text(missed)
    assert 'data-timing="not_made_up"' in missed
    assert "✎ 手动运行" in text(row(html, "automations", "2026-11-22"))
    # What is still to look at is counted apart from what was made up.
    assert "1 条需要注意" in caption(html, "birthday")
    assert "需要注意" not in caption(html, "value-refresh")
    assert "2 条已补上" in caption(html, "value-refresh")
    assert "生日和节日祝福" in html  # the note on what is made up and what never is

    html = await (await console_client.get("/console/lang/en", params={"next": PAGE})).text()
    assert "✓ on time" in text(row(html, "festival", "2026-11-22"))
    assert "↻ made up by the start-up catch-up, 2026-11-22 02:10" in text(
        row(html, "expire-points", "2026-11-21")
    )
    assert "↻ made up by a run by hand (python -m scheduler run), 2026-11-22 10:05" in text(
        row(html, "birthday", "2026-11-22")
    )
    assert (
        "↻ made up by the run for 2026-11-23 (the scheduler at its time), 2026-11-23 02:00"
        in text(row(html, "value-refresh", "2026-11-21"))
    )
    assert "⚠ not made up" in text(row(html, "birthday", "2026-11-21"))
    assert "✎ run by hand" in text(row(html, "automations", "2026-11-22"))
    assert "1 to look at" in caption(html, "birthday")
    assert "2 made up" in caption(html, "value-refresh")


async def test_a_marketer_may_look_a_clerk_may_not(console_client: Client) -> None:
    await staff_with_password("mia", "marketer")
    await staff_with_password("kim", "clerk")
    await sign_in(console_client, "mia")
    page = await (await console_client.get(f"{PAGE}?days=7")).text()
    assert "最近 7 天" in page and "还没有任何运行记录" in page  # nothing ran yet: said
    console_client.session.cookie_jar.clear()
    await sign_in(console_client, "kim")
    assert f'href="{PAGE}"' not in await (await console_client.get("/console/members")).text()
    assert (await console_client.get(PAGE)).status == 403


def test_every_job_and_count_has_words_in_both_languages() -> None:
    for lang in ("zh", "en"):
        _ = translator(lang)
        assert all(job_name(job, _) for job in JOBS)
        # What made a day up, in words (the page builds the key from `made_up.by`).
        assert all(_(f"job_made_up_by_{by.value}") for by in RunStarter)
        assert _("job_made_up_by_unknown")
    _ = translator("en")
    assert count_label("skipped_frequency_cap", _) == "skipped: over the marketing cap"
    assert count_label("reminders_skipped_member_blocked", _) == "reminders skipped: blocked"
    assert count_label("class_A", _) == "class A customers"
    assert count_label("quadrant_grow", _) == "quadrant: grow"
    assert count_label("something_new", _) == "something_new"  # shown as the job named it
