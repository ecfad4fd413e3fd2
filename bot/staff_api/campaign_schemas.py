"""Request and response bodies of campaigns."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import Field, StrictFloat, StrictInt, model_validator

from bot.staff_api.schemas import MAX_ID, MULTI_LINE, ONE_LINE, In, Out, StrictAware

Url = Annotated[str, Field(min_length=8, max_length=512, pattern=r"^https?://[^\s]+$")]
FieldName = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[A-Za-z][A-Za-z0-9_]*$")]
FieldText = Annotated[str, Field(min_length=1, max_length=200), ONE_LINE]


class LinkIn(In):
    title: Annotated[str, Field(min_length=1, max_length=64), ONE_LINE]
    url: Url
    description: Annotated[str, Field(max_length=120), MULTI_LINE] = ""
    picurl: Url | None = None


class TemplateIn(In):
    template_id: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
    fields: Annotated[dict[FieldName, FieldText], Field(min_length=1, max_length=20)] = Field(
        description="The template's fields (thing1, time2, keyword1...) and their text; "
        "{name}, {tier}, {campaign}, {content} and {date} are filled in per member"
    )
    url: Url | None = None


class MessageIn(In):
    text: Annotated[str, Field(min_length=1, max_length=2000), MULTI_LINE] = Field(
        description="The message (Chinese): by customer service, and by mass send"
    )
    text_en: Annotated[str, Field(min_length=1, max_length=2000), MULTI_LINE] | None = None
    link: LinkIn | None = Field(
        default=None, description="A link card sent by customer service instead of the text"
    )
    template: TemplateIn | None = Field(
        default=None,
        description="Its own template message outside the window (else the programme's "
        "`campaign` template)",
    )


class CampaignIn(In):
    name: Annotated[str, Field(min_length=1, max_length=64), ONE_LINE]
    segment_id: Annotated[StrictInt, Field(ge=1, le=MAX_ID)]
    message: MessageIn
    bonus_points: Annotated[StrictInt, Field(ge=0, le=100_000)] = Field(
        default=0, description="Points for each recipient (not the held-out, not the skipped)"
    )
    budget_points: Annotated[StrictInt, Field(ge=0, le=10**10)] = Field(
        default=0, description="Points the campaign may give in all; awards stop there"
    )
    send_at: StrictAware | None = Field(
        default=None, description="When to start (quiet hours move it to their end)"
    )
    daily_at: Annotated[str, Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")] | None = Field(
        default=None,
        description="An automation: runs every day at HH:MM (club time) for the members who "
        "entered the segment since its last run, each member at most once",
    )
    pace: Annotated[StrictInt, Field(ge=1, le=10_000)] | None = Field(
        default=None, description="Messages a second (default and ceiling: the programme's)"
    )
    # Strict: a JSON `true` or `"10"` was read as a number (found by schemathesis).
    holdout_percent: Annotated[StrictFloat, Field(ge=0, le=50)] = Field(
        default=0, description="Share of the audience held out as the control group"
    )
    effect_days: Annotated[StrictInt, Field(ge=1, le=365)] | None = None

    @model_validator(mode="after")
    def _budget(self) -> CampaignIn:
        if self.bonus_points and self.budget_points < self.bonus_points:
            raise ValueError("budget_points must cover at least one bonus")
        return self


class ScheduleIn(In):
    send_at: StrictAware | None = Field(default=None, description="Default: the campaign's own")


class ReasonIn(In):
    reason: Annotated[str, Field(min_length=1, max_length=200), ONE_LINE] | None = None


RESERVED = (
    "Bonus points reserved from the budget for members whose message has not gone yet (or whose "
    "bonus is not settled yet): credited once it goes or may have, else given back"
)


class ProgressOut(Out):
    recipients: int
    held_out: int
    pending: int
    queued: int
    sent: int
    mass_waiting: int
    points_awarded: int
    points_reserved: int = Field(description=RESERVED)
    sent_by_channel: dict[str, int]
    failed: dict[str, int] = Field(description="By outcome")
    skipped: dict[str, int] = Field(description="By reason")


class MassOut(Out):
    status: str = Field(
        description="tagging, sent, finished, failed, or unknown (WeChat never answered: it "
        "may have gone)"
    )
    result: str | None = Field(description="WeChat's Status from MASSSENDJOBFINISH, or why not")
    members: int = Field(description="Members tagged and sent to")
    total: int | None
    filtered: int | None
    sent: int | None
    errors: int | None


class RunOut(Out):
    id: int
    day: date
    status: str
    recipients: int
    held_out: int
    chunks: int
    started_at: datetime
    finished_at: datetime | None
    mass: MassOut | None = Field(description="Its mass send by tag, if it had one")


class EventOut(Out):
    at: datetime
    from_status: str | None
    to_status: str
    actor_name: str | None
    reason: str | None


class MetricOut(Out):
    name: str = Field(
        description="purchase_rate, unfollow_rate, spend_per_member_fen, profit_per_member_fen, "
        "redemptions_per_member, incremental_profit_fen or incremental_profit_per_yuan"
    )
    recipients: float = Field(description="The recipients' value")
    holdout: float = Field(description="The held-out members' value")
    difference: float
    low: float | None = Field(description="95% confidence interval of the difference")
    high: float | None
    p_value: float | None
    significant: bool
    says: str


class EffectOut(Out):
    window_days: int
    window_ends: datetime
    window_complete: bool
    recipients: int = Field(description="Members sent to (messaged or not: intention to treat)")
    held_out: int
    metrics: list[MetricOut]
    cost_fen: int
    cost: dict[str, int] = Field(
        description="points, points_fen, messages (sent, and of unknown outcome: WeChat never "
        "answered, they may have gone), messages_outcome_unknown (of those), messages_fen"
    )
    incremental_profit_fen: MetricOut | None
    profit_per_yuan: MetricOut | None = Field(
        description="Incremental profit per yuan of cost (none when nothing was spent)"
    )
    purchases_without_cost: dict[str, int] = Field(
        description="Purchases in the window with no cost recorded, left out of profit"
    )
    says: str


class CampaignOut(Out):
    id: int
    name: str
    segment_id: int
    status: str
    status_reason: str | None
    message: dict[str, Any]
    bonus_points: int
    budget_points: int
    points_awarded: int = Field(description="Bonus points credited to members")
    points_reserved: int = Field(description=RESERVED)
    send_at: datetime | None
    daily_at: str | None
    pace: int | None
    holdout_percent: float
    seed: int = Field(description="The holdout is drawn from it (reproducible)")
    effect_days: int
    audience_estimate: int | None
    approved_by: int | None
    approved_for: int | None
    created_at: datetime
    progress: ProgressOut | None = None
    runs: list[RunOut] = Field(
        default_factory=list, description="Oldest first; in the list, the last 5 only"
    )
    events: list[EventOut] = Field(
        default_factory=list, description="The campaign's history (not in the list)"
    )
    effect: EffectOut | None = Field(
        default=None,
        description="Recipients against the held-out members (once sent; not in the list)",
    )


class CampaignListQuery(In):
    limit: int = Field(default=50, ge=1, le=200, description="Campaigns per page")
    offset: int = Field(
        default=0, ge=0, le=1_000_000, description="Campaigns skipped, newest first"
    )


class CampaignList(Out):
    campaigns: list[CampaignOut] = Field(
        description="Newest first, each with its progress and last runs (a page of `limit`)"
    )
    total: int = Field(description="Campaigns in all, on every page")


class PreviewOut(Out):
    audience: int
    held_out_estimate: int
    channels: dict[str, int] = Field(description="Estimated members per channel")
    unreachable: dict[str, int] = Field(description="Members who cannot be reached, by reason")
    starts_at: datetime | None
    messages: dict[str, Any] = Field(description="What a member sees on each channel")


class TestOut(Out):
    sent_to: str = Field(description="The bound WeChat (openid, shortened)")
    channel: str | None
    outbox_id: int | None
    not_before: datetime | None = Field(description="Set when quiet hours hold it")


class WeChatCodeOut(Out):
    code: str
    expires_at: datetime
    how: str
