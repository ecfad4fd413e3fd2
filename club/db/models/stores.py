"""The history of each store's channel level: reports ask which level a store was in on a day.

A purchase keeps its own snapshot of the level; this history answers the same question for any
day, e.g. to place a store in the right channel level of a past period. Rows are only appended:
a store's creation is a row with no `from_level`, each change a row from the old level to the new.
"""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from club.db.models.ledger import Store
from club.rules.channels import ChannelLevel


class StoreLevelChange(Model):
    id = fields.BigIntField(primary_key=True)
    store: fields.ForeignKeyRelation[Store] = fields.ForeignKeyField(
        "models.Store", related_name="level_changes", on_delete=fields.CASCADE
    )
    store_id: str
    at = fields.DatetimeField()
    from_level = fields.CharEnumField(ChannelLevel, max_length=16, null=True)
    """NULL: the store was created at this level."""
    to_level = fields.CharEnumField(ChannelLevel, max_length=16)
    actor_id = fields.BigIntField(null=True)
    """The staff account that made the change (NULL: a command or a migration)."""
    actor_name = fields.CharField(max_length=64, null=True)
    """Copied, so the history still reads right after the account is renamed or removed."""

    class Meta:
        table = "store_level_change"
        indexes = (("store_id", "at"),)
