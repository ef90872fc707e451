"""Analytics (derived metrics, alerts, anomalies): a later issue; nothing is built in yet."""

__all__: list[str] = []
