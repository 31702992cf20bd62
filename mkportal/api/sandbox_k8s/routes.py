"""Routes of the sandbox Kubernetes API (to be completed)."""

from fastapi import APIRouter

router = APIRouter(prefix="/sandbox/k8s/{ref}", include_in_schema=False)
