"""In-cluster work through the official kubernetes client (sandbox and real clusters alike)."""
