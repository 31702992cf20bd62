"""Invoice documents (HTML download) and re-sending an invoice email (operators)."""

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from mkportal.api.deps import current_actor
from mkportal.services.actor import Actor
from mkportal.services.billing import delivery, documents

router = APIRouter(tags=["billing"])


@router.get(
    "/billing/invoices/{invoice_id}/document",
    response_class=Response,
    responses={200: {"content": {"text/html": {}}, "description": "The invoice as HTML."}},
)
def invoice_document(invoice_id: str, actor: Actor = Depends(current_actor)) -> Response:
    """Download an invoice as a printable HTML document (your organisation's invoices)."""
    filename, html = documents.invoice_document(actor, invoice_id)
    return Response(
        html,
        media_type="text/html; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.post("/admin/billing/invoices/{invoice_id}/resend")
def resend_invoice(invoice_id: str, actor: Actor = Depends(current_actor)) -> dict:
    """Email an invoice again to its billing contacts (operators only)."""
    return {"invoice_id": invoice_id, "sent_to": delivery.resend(actor, invoice_id)}
