"""Signing staff in and out of the console: sessions, CSRF tokens, the guard on every page."""
