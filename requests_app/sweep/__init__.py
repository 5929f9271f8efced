"""The sweep's raw SQL: PostgreSQL's whole statements live in `postgres`.

The sweep itself (`requests_app.escalation`, `requests_app.firing`) chooses between them and
the portable ORM path that runs everywhere else, in one place: `escalation.in_database`.
"""
