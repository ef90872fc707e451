"""Jobs keep their state in Celery for now; no tables yet."""
