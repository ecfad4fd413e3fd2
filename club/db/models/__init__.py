"""Tortoise models, one module per concept (listed in `club.db.config.MODEL_MODULES`)."""
