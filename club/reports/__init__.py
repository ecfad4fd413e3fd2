"""Reports: read models over the club's tables, as SQL shaped for the staff page and CSV.

Each report module takes a validated `ReportFilter` and the programme, runs one or a few SQL
queries (on the replica when one is configured) and returns plain rows; nothing loads members
into Python. The same SQL runs on SQLite and PostgreSQL (`club.reports.sql` papers over the few
differences: parameter marks, time arithmetic, how times are bound).
"""
