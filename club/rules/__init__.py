"""Pure club rules and the programme they are parameterised by: earning, expiry, lot allocation,
tier decisions, refunds, and the programme's model (tiers, earning, delivery, texts). Standard
library only (an import-linter contract checks it), so every layer may read them."""
