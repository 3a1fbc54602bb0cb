"""Runtime: what every stage runs on (bounded containers, test runs, the mounted pytest plugin,
the model client)."""
