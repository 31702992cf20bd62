"""Billing endpoints (billing)."""

from fastapi import APIRouter

router = APIRouter(tags=["billing"])
