"""The WeChat-facing service: app factory, callback, API client, router, staff API, CLI."""
