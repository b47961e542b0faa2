"""Budgets: spending limits per local day, week or month (optionally per project and model), their status and
forecast, and the record of which alerts were already given."""
