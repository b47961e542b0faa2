"""The local insights engine: deterministic rules over the archive (nothing leaves the machine).

Each rule (``store/insights/rules/``) reads the archive with plain SQL and returns findings with a concrete value;
``engine.run_insights`` stores the new ones. ``service.InsightsService`` runs it after ingests and on a schedule.
"""
