"""Queries the dashboard needs beyond ``store.monitor`` and ``store.analytics``: usage between two instants,
the current 5-hour block with its burn rate, activity by hour, repricing on another model, sorted session pages,
error examples, compactions and cache-expiry waste, and the cheap lists behind the filters.

The dashboard (``ui/``) holds no SQL: it calls these and the monitor/analytics queries on a worker thread. Every
cost is priced with the report code's rules (``store.reports.usage.price_group``), so the dashboard, the API and
``devhelion report`` agree for the same range.
"""
