"""Backup and restore of customer clusters.

Archives of a cluster's Kubernetes objects (and its portal-side configuration) are written
to the organisation's backup storage (a local directory or an S3 bucket), catalogued as
`Backup` rows, kept by schedules and retention, restored in place or into a clone, and
regularly checked by restore drills.
"""
