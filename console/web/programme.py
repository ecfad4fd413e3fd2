"""Programme pages: rewards and their stock, bottle-code batches (generate, download for the
printer), and the programme file's tiers, festivals and message texts (read-only: the TOML file
set by CLUB_CONFIG rules them; a change there takes effect at the next start)."""

from __future__ import annotations

import csv
import io

from aiohttp import web

from bot.deps import DEPS
from bot.staff_api.errors import ApiError
from club.rewards.catalogue import list_catalogue
from club.staff.accounts import Permission, record_audit
from console.auth.context import SESSIONS, current_user, require, see_other
from console.i18n import translator
from console.queries.codes import batch_codes, batches
from console.render import page_language, render
from console.web.actions import FormError, act, integer, new_ref, optional_text, path_id, text
from console.web.members import tier_label


async def rewards(
    request: web.Request, *, error: str | None = None, status: int = 200
) -> web.StreamResponse:
    require(request, Permission.READ_REWARDS)
    lang = page_language(request)
    programme = request.app[DEPS].programme
    return await render(
        request,
        "rewards.html",
        {
            "rewards": await list_catalogue(),
            "tier_names": {
                t.code: tier_label(programme, t.code, lang) for t in programme.tiers.tiers
            },
            "tiers": programme.tiers.codes,
            "error": error,
            "ref": new_ref("reward"),
        },
        status=status,
    )


async def rewards_page(request: web.Request) -> web.StreamResponse:
    return await rewards(request)


async def create_reward(request: web.Request) -> web.StreamResponse:
    require(request, Permission.MANAGE_REWARDS)
    form = await request.post()
    _ = translator(page_language(request))
    try:
        body: dict[str, object] = {
            "name": text(form, "name"),
            "description": text(form, "description"),
            "points_cost": integer(form, "points_cost"),
            "min_tier": optional_text(form, "min_tier"),
            "ref": optional_text(form, "ref"),
        }
        if text(form, "stock"):
            body["stock"] = integer(form, "stock")
        if text(form, "per_member_limit"):
            body["per_member_limit"] = integer(form, "per_member_limit")
        done = await act(request, "createReward", body)
    except FormError as exc:
        return await rewards(request, error=str(exc), status=422)
    except ApiError as exc:
        return await rewards(request, error=exc.message, status=exc.status)
    await request.app[SESSIONS].push_flash(
        current_user(request).session, _("reward_created", name=done.model_dump()["name"])
    )
    return see_other("/console/rewards")


async def codes(
    request: web.Request, *, error: str | None = None, status: int = 200
) -> web.StreamResponse:
    require(request, Permission.ISSUE_CODES)
    return await render(
        request, "codes.html", {"batches": await batches(), "error": error}, status=status
    )


async def codes_page(request: web.Request) -> web.StreamResponse:
    return await codes(request)


async def generate_codes(request: web.Request) -> web.StreamResponse:
    require(request, Permission.ISSUE_CODES)
    form = await request.post()
    _ = translator(page_language(request))
    try:
        body = {
            "count": integer(form, "count"),
            "points": integer(form, "points"),
            "batch": text(form, "batch"),
        }
        done = (await act(request, "createBottleCodes", body)).model_dump()
    except FormError as exc:
        return await codes(request, error=str(exc), status=422)
    except ApiError as exc:
        return await codes(request, error=exc.message, status=exc.status)
    await request.app[SESSIONS].push_flash(
        current_user(request).session, _("codes_created", n=done["count"], batch=done["batch"])
    )
    return see_other("/console/codes")


async def download_codes(request: web.Request) -> web.StreamResponse:
    """The batch as CSV for the printer: one code a line, in the printed form."""
    user = require(request, Permission.ISSUE_CODES)
    found = await batch_codes(path_id(request))
    if found is None:
        raise web.HTTPNotFound()
    name, points, printed = found
    # Codes are worth points: who took a batch out of the system is on record.
    await record_audit(
        user.staff,
        action="codes.download",
        target=f"batch:{name}",
        status=200,
        summary={"via": "console", "count": len(printed)},
        now=request.app[DEPS].clock.now(),
    )
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["batch", "code", "points"])
    writer.writerows([name, code, points] for code in printed)
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
    return web.Response(
        body=out.getvalue().encode("utf-8"),
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="bottle-codes-{safe}.csv"'},
    )


async def programme_page(request: web.Request) -> web.StreamResponse:
    require(request, Permission.READ_PROGRAMME)
    deps = request.app[DEPS]
    return await render(
        request,
        "programme.html",
        {"prog": deps.programme, "source": deps.settings.club_config},
    )
