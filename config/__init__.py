"""Configuration: one frozen settings object built from the environment and `.env`."""

from config.settings import ConfigError, Settings

__all__ = ["ConfigError", "Settings"]
