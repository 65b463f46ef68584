"""The office's inspection pages (team leads, the head, inspectors at a desk): the registry, campaigns from plan to
conclusion, the review of what the tablets sent, violation records and sanction decisions, the map.

The tablet pages (inspections/views.py) live under /inspections/, the service worker's scope; these pages live
outside it (/registry/, /campaigns/), so the offline shell never caches them. Like the tablet pages they only
shape requests: the rules stay in inspections.services.
"""
