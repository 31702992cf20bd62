"""Billing endpoints (webhooks)."""

from fastapi import APIRouter

router = APIRouter(tags=["billing"])
