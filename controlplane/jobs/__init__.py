"""Jobs: background work run by Celery (backtests, archives)."""
