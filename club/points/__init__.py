"""The points ledger: credits, debits, reversals and refunds over earned lots, the ledger as
members and staff read it, expiry, and the daily check-in that earns points."""
