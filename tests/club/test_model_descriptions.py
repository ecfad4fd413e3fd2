"""Regression: a semicolon in a model's description broke the SQLite migrations.

tortoise writes the first docstring line as a table comment and its SQLite schema editor
splits statements at every `;`, so `CREATE TABLE ... /* a; b */` ran as two broken statements
(found when group_account_contact's description had one).
"""

from __future__ import annotations

from tortoise import Tortoise

from club.db.connect import database


async def test_no_model_description_holds_a_semicolon() -> None:
    async with database("sqlite://:memory:"):
        for model in Tortoise.apps.get_models_iterable():  # type: ignore[attr-defined]
            description = model._meta.table_description or ""
            assert ";" not in description, model.__name__
            for field in model._meta.fields_map.values():
                assert ";" not in (field.description or ""), f"{model.__name__}.{field}"
