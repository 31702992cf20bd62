"""SLO reports: your organisation's (members), every organisation's (operators), CSV."""

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from pydantic import Field

from mkportal.api.deps import current_actor
from mkportal.api.schemas import Body
from mkportal.models.base import utcnow
from mkportal.services.actor import Actor
from mkportal.services.metrics import slo, slo_reports

router = APIRouter(tags=["slo"])
PERIOD = Query("", max_length=7, description="The month, YYYY-MM (default: the current one).")


class GenerateBody(Body):
    """Which month (and optionally which organisation) to (re)generate."""

    period: str = Field(max_length=7)
    org_id: str | None = Field(default=None, max_length=32)


def _period(period: str) -> str:
    return period or utcnow().strftime("%Y-%m")


def _csv(text: str, period: str) -> Response:
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="slo-{period}.csv"'},
    )


@router.get("/slo-reports")
def org_reports(
    period: str = PERIOD, actor: Actor = Depends(current_actor)
) -> slo_reports.SloSummary:
    """Your organisation's clusters: availability, target, error budget, downtime, credit."""
    return slo_reports.summary(actor, _period(period), actor.org_id)


@router.get("/slo-reports/export.csv")
def org_reports_csv(period: str = PERIOD, actor: Actor = Depends(current_actor)) -> Response:
    """Your organisation's reports of the month as CSV."""
    p = _period(period)
    return _csv(slo_reports.export_csv(actor, p, actor.org_id), p)


@router.get("/admin/slo-reports")
def admin_reports(
    period: str = PERIOD,
    org: str = Query("", max_length=32),
    actor: Actor = Depends(current_actor),
) -> slo_reports.SloSummary:
    """Every organisation's reports (or one's) with per-org and fleet roll-ups (operators)."""
    actor.require_operator()
    return slo_reports.summary(actor, _period(period), org or None)


@router.get("/admin/slo-reports/export.csv")
def admin_reports_csv(
    period: str = PERIOD,
    org: str = Query("", max_length=32),
    actor: Actor = Depends(current_actor),
) -> Response:
    """Return the month's reports as CSV (operators)."""
    actor.require_operator()
    p = _period(period)
    return _csv(slo_reports.export_csv(actor, p, org or None), p)


@router.post("/admin/slo-reports/generate")
def generate(body: GenerateBody, actor: Actor = Depends(current_actor)) -> slo.GenerateResult:
    """(Re)compute a month's reports now (from Prometheus, else from incidents)."""
    return slo.generate_safely(actor, body.period, body.org_id or None)
