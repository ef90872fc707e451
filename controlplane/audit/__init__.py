"""Audit trail: an append-only, hash-chained log of every change to the catalog."""
