"""The club domain: members, the points ledger, tiers, rewards, codes, greetings.

Nothing in `club/` imports transport (aiohttp, wechatpy, redis, taskiq) or the outer packages
(`bot`, `handlers`, `scheduler`); an import-linter contract keeps it so. `club/db/` is the
storage adapter (tortoise-orm)."""
