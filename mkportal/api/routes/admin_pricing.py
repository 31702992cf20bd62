"""Billing endpoints (admin_pricing)."""

from fastapi import APIRouter

router = APIRouter(tags=["billing"])
