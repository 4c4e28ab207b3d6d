"""Alembic environment: the engine comes from feedsvc's Storage, never from an ini file."""

from alembic import context

from feedsvc.storage import mail_schema  # noqa: F401  (its tables join Base.metadata)
from feedsvc.storage.schema import Base

config = context.config
engine = config.attributes["engine"]
sqlite = engine.dialect.name == "sqlite"

with engine.connect() as connection:
    raw = connection.connection.dbapi_connection
    if sqlite:
        # SQLite's batch migrations copy a table and drop the old one: with foreign keys on,
        # that drop would cascade into every row that refers to it (occurrences, topics).
        # The pragma only works outside a transaction, so it goes to the driver directly.
        raw.execute("PRAGMA foreign_keys=OFF")
    try:
        with connection.begin():
            if engine.dialect.name == "postgresql":
                # Several processes start at once on a PaaS (web workers, clocks): one migrates,
                # the rest wait.
                connection.exec_driver_sql("SELECT pg_advisory_xact_lock(1718838388)")
            context.configure(connection=connection, target_metadata=Base.metadata,
                              render_as_batch=sqlite)
            context.run_migrations()
    finally:
        if sqlite:
            raw.execute("PRAGMA foreign_keys=ON")
