"""The user-facing side: pages, the DRF API, the WebSocket stream and its gateway."""
