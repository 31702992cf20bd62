"""Alembic environment: the URL and the metadata come from mkportal."""

from sqlmodel import SQLModel

import mkportal.models  # noqa: F401  (registers the tables)
from alembic import context
from mkportal.db import get_engine

target_metadata = SQLModel.metadata

# Tables kept out of the SQLModel metadata on purpose: the log store (partitioned on
# PostgreSQL, FTS5 on SQLite) is made and changed by its migrations' raw SQL only.
RAW_SQL_TABLES = ("log_line",)


def include_object(obj, name, type_, reflected, compare_to) -> bool:  # noqa: ANN001
    """Leave the raw-SQL log store (its tables, partitions and indexes) to its migrations."""
    table = obj.table.name if type_ in ("index", "column", "unique_constraint") else name
    return not (reflected and compare_to is None and str(table).startswith(RAW_SQL_TABLES))


def run_migrations_offline() -> None:
    context.configure(
        url=str(get_engine().url),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connectable = context.config.attributes.get("connection") or get_engine()
    if hasattr(connectable, "connect"):
        with connectable.connect() as connection:
            _run(connection)
    else:
        _run(connectable)


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
        include_object=include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
