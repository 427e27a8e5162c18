"""The reminder rules: which findings and look-backs call for a message today (docs/notify.md).

This package stands above the inspections (it reads findings and look-backs); the outbox it writes
to stands below them. ``rules`` is pure; ``daily`` reads the database and enqueues.
"""
