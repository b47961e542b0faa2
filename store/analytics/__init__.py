"""Queries behind the dashboard API: overview, sessions, daily usage, distributions and sync bookkeeping.

Results use the API's field names (they are the contract the dashboard and the REST routes share); costs come
from the same pricing code as ``devhelion report``, so every surface gives the same figures for a range.
"""
