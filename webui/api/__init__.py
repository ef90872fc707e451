"""The REST API under /api/ (DRF, Token and Session auth, OpenAPI at /api/schema/)."""
