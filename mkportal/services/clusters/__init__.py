"""Cluster provisioning: validation, pricing, use cases and the operation steps."""
