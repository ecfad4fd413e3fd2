"""Pure club rules: earning, expiry, lot allocation, tier decisions (standard library only)."""
