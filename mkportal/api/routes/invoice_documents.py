"""Invoice documents (HTML download), the billing contact, and re-sending invoices."""

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from pydantic import Field

from mkportal.api.deps import current_actor
from mkportal.api.schemas import Body
from mkportal.services.actor import Actor
from mkportal.services.billing import delivery, documents, notices

router = APIRouter(tags=["billing"])


class BillingContactBody(Body):
    """The address that receives invoices ("" to send them to the owners)."""

    billing_email: str = Field(default="", max_length=254)


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


@router.get("/billing/contact")
def get_contact(actor: Actor = Depends(current_actor)) -> notices.BillingContact:
    """Where your organisation's invoices and payment notices are emailed."""
    return notices.get_billing_contact(actor)


@router.put("/billing/contact")
def put_contact(
    body: BillingContactBody, actor: Actor = Depends(current_actor)
) -> notices.BillingContact:
    """Set the billing email (owners); an empty value sends invoices to the owners."""
    return notices.set_billing_email(actor, body.billing_email)


@router.post("/admin/billing/invoices/{invoice_id}/resend")
def resend_invoice(invoice_id: str, actor: Actor = Depends(current_actor)) -> dict:
    """Email an invoice again to its billing contacts (operators only)."""
    return {"invoice_id": invoice_id, "sent_to": delivery.resend(actor, invoice_id)}
