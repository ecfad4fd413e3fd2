"""Read models of the console: SQL shaped for its pages, beside the domain (no domain objects).

Only this package queries tables directly, and only to read; every change goes through a club
service or a staff API endpoint (import-linter keeps console.web and console.auth off the ORM).
"""
