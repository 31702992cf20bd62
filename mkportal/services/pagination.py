"""Server-side pagination."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlmodel import Session, func, select
from sqlmodel.sql.expression import SelectOfScalar

MAX_PER_PAGE = 200
T = TypeVar("T")


@dataclass
class Page(Generic[T]):
    """One page of a server-side paginated list."""

    items: list[T]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        """The number of pages (at least 1)."""
        return max(1, -(-self.total // self.per_page))


def paginate(session: Session, query: SelectOfScalar, page: int, per_page: int) -> tuple:
    """Run `query` for one page.

    Args:
        session: An open session.
        query: An ordered select.
        page: 1-based page number (clamped to >= 1).
        per_page: Page size (clamped to 1..200).

    Returns:
        ``(rows, total, page, per_page)`` with the clamped values.

    """
    per_page = min(max(per_page, 1), MAX_PER_PAGE)
    page = max(page, 1)
    total = session.exec(select(func.count()).select_from(query.order_by(None).subquery())).one()
    rows = session.exec(query.offset((page - 1) * per_page).limit(per_page)).all()
    return rows, total, page, per_page
