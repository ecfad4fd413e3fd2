"""Configuration: one frozen settings object built from the environment and `.env`."""

from config.accounts import AccountCredentials
from config.settings import ConfigError, Settings

__all__ = ["AccountCredentials", "ConfigError", "Settings"]
