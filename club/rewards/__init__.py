"""Rewards: the catalogue staff manage, and redemptions that take points and stock at once."""
