"""Fleet: the supervisor of the platform's processes and control-plane heartbeats."""
