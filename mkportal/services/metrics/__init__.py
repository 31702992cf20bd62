"""Metrics and alerting.

The Prometheus/Alertmanager backend, the sandbox exporter, SLIs and alerts, incidents, SLO
reports, confined queries, dashboards and alarms.
"""
