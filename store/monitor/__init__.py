"""Queries behind the session monitor API (Surface 2): sessions, their contents and usage statistics.

Pure Python over the archive (no web imports): every function takes the database, the price table where money
is involved, and a validated :class:`store.monitor.params.Scope`; results are plain JSON-ready dicts with
snake_case keys. Costs are priced at query time with the report code's rules, so figures agree with
``devhelion report`` for the same range.
"""
