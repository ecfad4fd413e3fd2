"""Tiers: qualifying spend, the upgrade at once, the monthly review, the staff-set floor."""
