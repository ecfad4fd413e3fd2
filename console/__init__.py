"""The staff web console: server-rendered pages under /console for marketers, managers and
store staff, on the same aiohttp app as the WeChat callback and the staff API.

`console.setup(app)` adds its routes, templates, static files and middleware to an app built by
`bot.app.create_app`. Pages act through the staff API's endpoints and the club's services (the
same role checks and audit rows), never around them; read-only pages use the read models in
`console.queries`.
"""

from __future__ import annotations

from console.app import setup

__all__ = ["setup"]
