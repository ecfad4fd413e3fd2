"""Customer value management: profit, key customers, RFM and classes, churn, exits, service.

The pure rules are in `club.rules.value` and `club.rules.programme` (`ValueRules`,
`ChurnRules`); the SQL that applies them to the tables is here, the reports in `club.reports`.
"""
