"""mkportal: a self-service portal for a Managed Kubernetes service."""
