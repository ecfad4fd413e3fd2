"""A staff account's own WeChat, bound by a one-time code sent in chat: campaign tests go there.

The code is shown once by the staff API and kept only as its SHA-256 (it is short-lived and
single-use, but it binds an account). One binding per staff account; binding again replaces it.
"""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class StaffBindCode(Model):
    id = fields.BigIntField(primary_key=True)
    staff_id = fields.BigIntField(unique=True)
    """One live code per account: a new one replaces it."""
    code_hash = fields.CharField(max_length=64, unique=True)
    expires_at = fields.DatetimeField()

    class Meta:
        table = "staff_bind_code"


class StaffWeChat(Model):
    id = fields.BigIntField(primary_key=True)
    staff_id = fields.BigIntField(unique=True)
    openid = fields.CharField(max_length=64)
    bound_at = fields.DatetimeField()

    class Meta:
        table = "staff_wechat"
