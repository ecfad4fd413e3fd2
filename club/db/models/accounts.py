"""Group-purchase accounts: an organisation with several member contacts (company, banquet).

Orders booked to the account (`purchase.account_id`) are the organisation's: the reports
analyse the account as one customer, a key customer by definition, and its contacts see the
account's tier (from the account's own qualifying spend).
"""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class GroupAccount(Model):
    id = fields.BigIntField(primary_key=True)
    name = fields.CharField(max_length=128, unique=True)
    created_at = fields.DatetimeField()
    created_by = fields.BigIntField(null=True)
    """The staff account that opened it."""

    class Meta:
        table = "group_account"


class GroupAccountContact(Model):
    """A member who buys for the account (a member is a contact of one account at most).

    No semicolon in the first line: tortoise's SQLite migrations split a statement at one.
    """

    id = fields.BigIntField(primary_key=True)
    account: fields.ForeignKeyRelation[GroupAccount] = fields.ForeignKeyField(
        "models.GroupAccount", related_name="contacts", on_delete=fields.CASCADE
    )
    account_id: int
    member_id = fields.BigIntField(unique=True)
    added_at = fields.DatetimeField()

    class Meta:
        table = "group_account_contact"
