"""The Kubernetes API endpoint of sandbox clusters, served by the portal at /sandbox/k8s/{ref}."""

from mkportal.api.sandbox_k8s.routes import router

__all__ = ["router"]
