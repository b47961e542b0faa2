"""The archive's Peewee database proxy and base model, and its schema bookkeeping (``schema_meta``)."""

from __future__ import annotations

from peewee import DatabaseProxy, Model, TextField

database = DatabaseProxy()


class BaseModel(Model):
    class Meta:
        database = database
        legacy_table_names = False


class SchemaMeta(BaseModel):
    """Key/value bookkeeping: schema version, local API key id and similar."""

    key = TextField(primary_key=True)
    value = TextField()
