"""Alembic environment: the engine comes from feedsvc's Storage, never from an ini file."""

from alembic import context

from feedsvc.storage.schema import Base

config = context.config
engine = config.attributes["engine"]

with engine.begin() as connection:
    if engine.dialect.name == "postgresql":
        # Several processes start at once on a PaaS (web workers, clocks): one migrates, the rest wait.
        connection.exec_driver_sql("SELECT pg_advisory_xact_lock(1718838388)")
    context.configure(connection=connection, target_metadata=Base.metadata,
                      render_as_batch=engine.dialect.name == "sqlite")
    context.run_migrations()
