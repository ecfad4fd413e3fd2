"""Campaigns: what staff send to a segment, each sending run, its frozen recipients, its chunks,
its mass send, and the history of its status.

- `Campaign`: the message, bonus points and budget, schedule, pace, holdout share and the seed
  it is drawn from, status (`club.rules.campaigns`), approval.
- `CampaignRun`: one sending of it: the one-off campaign has one, an automation one a day.
- `CampaignRecipient`: the audience frozen when a run starts, one row per member, unique per
  campaign (an automation messages a member at most once). A recipient is held out, or goes by
  its outbox row (customer service or template), or by the run's mass send, or is left out
  with the reason.
- `CampaignChunk`: the recipients are fanned out to the queue workers a chunk at a time; a
  chunk's heartbeat tells the scheduler which chunk lost its worker.
- `MassSend`: a run's one mass send by tag (WeChat's tag id, our `clientmsgid`, its outcome).
- `CampaignEvent`: every status change, by whom (staff) or by the system, and why.
"""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model

from club.db.models.members import Member
from club.db.models.segments import Segment
from club.rules.campaigns import CampaignStatus, MassStatus, RecipientState, RunStatus


class Campaign(Model):
    id = fields.BigIntField(primary_key=True)
    name = fields.CharField(max_length=64)
    segment: fields.ForeignKeyRelation[Segment] = fields.ForeignKeyField(
        "models.Segment", related_name="campaigns", on_delete=fields.RESTRICT
    )
    segment_id: int
    message: Any = fields.JSONField()
    """What members see (`club.campaigns.message`): text, link card, template and its fields."""
    bonus_points = fields.IntField(default=0)
    """Points per recipient (0: none)."""
    budget_points = fields.BigIntField(default=0)
    """Points the campaign may give in all: awards stop when it is spent."""
    points_awarded = fields.BigIntField(default=0)
    """Bonus points credited to members: each one's message went, or may have."""
    points_reserved = fields.BigIntField(default=0, db_default=0)
    """Bonus points reserved from the budget for members whose message has not gone yet:
    credited once it goes (or may have), given back to the budget if it never does
    (`club.campaigns.bonus`)."""
    send_at = fields.DatetimeField(null=True)
    """When it starts (None: as soon as it is sent); quiet hours push it to their end."""
    daily_at = fields.SmallIntField(null=True)
    """An automation: minutes after midnight (club time) it runs every day; None: one-off."""
    pace = fields.IntField(null=True)
    """Messages a second (None: the programme's ceiling)."""
    holdout_bp = fields.IntField(default=0)
    """Share of the audience held out, in basis points (1000 = 10%)."""
    seed = fields.BigIntField()
    """The holdout is drawn from it (`club.rules.campaigns.held_out`): recorded, reproducible."""
    effect_days = fields.SmallIntField(default=30)
    status = fields.CharEnumField(CampaignStatus, max_length=16, default=CampaignStatus.DRAFT)
    status_reason = fields.CharField(max_length=255, null=True)
    audience_estimate = fields.BigIntField(null=True)
    """The segment's size when it was last scheduled or approved."""
    approved_by = fields.BigIntField(null=True)
    approved_at = fields.DatetimeField(null=True)
    approved_for = fields.BigIntField(null=True)
    """The audience size the approval was given for."""
    created_by = fields.BigIntField(null=True)
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()

    class Meta:
        table = "campaign"
        indexes = (("status", "send_at"),)


class CampaignRun(Model):
    id = fields.BigIntField(primary_key=True)
    campaign: fields.ForeignKeyRelation[Campaign] = fields.ForeignKeyField(
        "models.Campaign", related_name="runs", on_delete=fields.CASCADE
    )
    campaign_id: int
    day = fields.DateField()
    status = fields.CharEnumField(RunStatus, max_length=16, default=RunStatus.SENDING)
    recipients = fields.IntField(default=0)
    held_out = fields.IntField(default=0)
    chunks = fields.IntField(default=0)
    started_at = fields.DatetimeField()
    finished_at = fields.DatetimeField(null=True)
    progress: Any = fields.JSONField(null=True)
    """The run's progress once settled (finished, and each recipient sent, failed, skipped or
    held out for good): counted once and read from here, never recounted
    (`club.campaigns.progress`)."""

    class Meta:
        table = "campaign_run"
        unique_together = (("campaign", "day"),)


class CampaignRecipient(Model):
    id = fields.BigIntField(primary_key=True)
    campaign: fields.ForeignKeyRelation[Campaign] = fields.ForeignKeyField(
        "models.Campaign", related_name="recipient_rows", on_delete=fields.CASCADE
    )
    campaign_id: int
    run: fields.ForeignKeyRelation[CampaignRun] = fields.ForeignKeyField(
        "models.CampaignRun", related_name="recipient_rows", on_delete=fields.CASCADE
    )
    run_id: int
    member: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "models.Member", related_name="campaigns", on_delete=fields.CASCADE
    )
    member_id: int
    openid = fields.CharField(max_length=64)
    holdout = fields.BooleanField(default=False)
    chunk = fields.IntField()
    state = fields.CharEnumField(RecipientState, max_length=16, default=RecipientState.PENDING)
    outbox_id = fields.BigIntField(null=True)
    """Its message in the outbox (customer service or template)."""
    reason = fields.CharField(max_length=255, null=True)
    """Why it was left out, or how it went (mass send)."""
    points = fields.IntField(default=0)
    """Bonus points it was given (credited: its message went, or may have)."""
    bonus_reserved = fields.IntField(default=0, db_default=0)
    """Bonus points reserved for it from the budget until its message goes (then credited and
    moved to `points`) or is known never to go (then given back): `club.campaigns.bonus`."""

    class Meta:
        table = "campaign_recipient"
        unique_together = (("campaign", "member"),)
        # (run_id, state, id): the mass send walks a state in id order from a watermark.
        indexes = (("run_id", "chunk", "state"), ("run_id", "state", "id"), ("member_id", "state"))


class CampaignChunk(Model):
    id = fields.BigIntField(primary_key=True)
    run: fields.ForeignKeyRelation[CampaignRun] = fields.ForeignKeyField(
        "models.CampaignRun", related_name="chunk_rows", on_delete=fields.CASCADE
    )
    run_id: int
    number = fields.IntField()
    kicked_at = fields.DatetimeField(null=True)
    """When it was last handed to the queue."""
    beat_at = fields.DatetimeField(null=True)
    """A worker's last sign of life on it."""
    done_at = fields.DatetimeField(null=True)

    class Meta:
        table = "campaign_chunk"
        unique_together = (("run", "number"),)


class MassSend(Model):
    id = fields.BigIntField(primary_key=True)
    run: fields.OneToOneRelation[CampaignRun] = fields.OneToOneField(
        "models.CampaignRun", related_name="mass_send", on_delete=fields.CASCADE
    )
    run_id: int
    status = fields.CharEnumField(MassStatus, max_length=16, default=MassStatus.TAGGING)
    tag_id = fields.IntField(null=True)
    clientmsgid = fields.CharField(max_length=64, unique=True)
    msg_id = fields.BigIntField(null=True)
    msg_data_id = fields.BigIntField(null=True)
    members = fields.IntField(default=0)
    tagged = fields.IntField(default=0)
    """Members tagged so far."""
    tagged_upto = fields.BigIntField(default=0)
    """Recipient ids up to this one are tagged: the tagging resumes after it."""
    untagged_upto = fields.BigIntField(default=0)
    beat_at = fields.DatetimeField(null=True)
    """The task working on it: another waits until this is a minute old."""
    attempts = fields.IntField(default=0, db_default=0)
    """Sends claimed so far (`message/mass/sendall` calls, each under `clientmsgid`)."""
    retry_at = fields.DatetimeField(null=True)
    """An attempt went unanswered: the next is not made before this."""
    maybe_sent = fields.BooleanField(default=False, db_default=False)
    """An attempt may have reached WeChat (unanswered, or its task stopped inside the call)."""
    total_count = fields.IntField(null=True)
    filter_count = fields.IntField(null=True)
    sent_count = fields.IntField(null=True)
    error_count = fields.IntField(null=True)
    result = fields.CharField(max_length=64, null=True)
    """WeChat's Status of MASSSENDJOBFINISH (`send success`, `err(...)`), or our failure."""
    sent_at = fields.DatetimeField(null=True)
    finished_at = fields.DatetimeField(null=True)
    untagged_at = fields.DatetimeField(null=True)

    class Meta:
        table = "mass_send"


class CampaignEvent(Model):
    id = fields.BigIntField(primary_key=True)
    campaign: fields.ForeignKeyRelation[Campaign] = fields.ForeignKeyField(
        "models.Campaign", related_name="events", on_delete=fields.CASCADE
    )
    campaign_id: int
    at = fields.DatetimeField()
    from_status = fields.CharField(max_length=16, null=True)
    to_status = fields.CharField(max_length=16)
    actor_id = fields.BigIntField(null=True)
    """The staff account (None: the scheduler or a worker)."""
    actor_name = fields.CharField(max_length=64, null=True)
    reason = fields.CharField(max_length=255, null=True)

    class Meta:
        table = "campaign_event"
        indexes = (("campaign_id", "at"),)


class TemplateQuotaDay(Model):
    """Template messages campaigns took on a day (club time), against the programme's quota.

    `spent_at`: WeChat answered 45009 that day (the quota is spent whatever the count says).
    (No semicolon in a model's first docstring line: it becomes the table's comment, and the
    SQLite migration splits its statements at semicolons.)
    """

    id = fields.BigIntField(primary_key=True)
    day = fields.DateField(unique=True)
    used = fields.IntField(default=0)
    spent_at = fields.DatetimeField(null=True)

    class Meta:
        table = "template_quota_day"
