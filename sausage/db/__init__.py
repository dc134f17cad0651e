"""Persistence: SQLAlchemy models per service, sessions, and Alembic migrations.

Only ``sausage.services`` imports this package; the API and the agents never touch the database.
"""
