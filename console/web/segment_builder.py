"""What the composer's segment builder offers: the kinds of condition, their choices, its words
and its limits (its script, console/static/composer.js, reads them from the page).

The builder writes nested groups of conditions into a rule document that the segments API
validates (`club.segments.rules`); its limits are that module's, turned into what the builder
lets staff build.
"""

from __future__ import annotations

from typing import Any

from club.rules.programme import Programme
from club.segments.rules import MAX_DEPTH, MAX_GROUP_RULES, MAX_LEAVES
from console.i18n import translator
from console.web.members import tier_label

RULE_KINDS = (
    "tier",
    "status",
    "last_purchase",
    "spend",
    "purchase_count",
    "points_balance",
    "tags",
    "value_class",
    "churn_risk",
    "channel_level",
    "language",
    "joined",
    "birthday_month",
)
LEVELS = ("dealer", "wholesaler", "key_account", "small_shop", "online", "consumer")
BUILDER_WORDS = (
    "not",
    "remove",
    "within_days",
    "more_than_days",
    "min_yuan",
    "max_yuan",
    "period_12",
    "period_life",
    "min",
    "max",
    "tags",
    "any",
    "all",
    "counting",
    "invalid",
    "zh",
    "en",
    "low",
    "medium",
    "high",
    "group",
    "combine",
    "and",
    "or",
    "not_group",
    "add_condition",
    "add",
    "add_group",
    "remove_group",
    "deepest",
    "full",
    "not_loaded",
)

# A group the builder writes is an `and`/`or`, a `not` around it when the group is negated; a
# condition is its rule, a `not` around it when negated. So groups nested N deep write a document
# at most 2 N + 2 deep: the builder stops where every such document still passes MAX_DEPTH,
# whatever is negated.
GROUP_DEPTH = (MAX_DEPTH - 2) // 2


def builder_options(programme: Programme, lang: str) -> dict[str, Any]:
    _ = translator(lang)
    return {
        "kinds": [{"value": k, "label": _("rule_" + k)} for k in RULE_KINDS],
        "tiers": [
            {"value": t.code, "label": tier_label(programme, t.code, lang)}
            for t in programme.tiers.tiers
        ],
        "statuses": [
            {"value": s, "label": _("status_" + s)} for s in ("active", "unfollowed", "blocked")
        ],
        "levels": [{"value": v, "label": _("level_" + v)} for v in LEVELS],
        "words": {k: _("rb_" + k) for k in BUILDER_WORDS},
        "limits": {"depth": GROUP_DEPTH, "conditions": MAX_LEAVES, "per_group": MAX_GROUP_RULES},
    }
