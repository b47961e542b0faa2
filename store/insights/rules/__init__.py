"""One module per insight rule; each has ``RULE`` (its name) and ``evaluate(ctx) -> list[Finding]``."""
