"""SQLite-specific code of the archive, kept in one place so another backend can follow: pragmas and error
translation (``connection``), the bulk upserts of ingest (``writes``), the trigger-kept rollups
(``usage_rollup``, ``rollup_tables``, ``day_rollups``, ``key_sessions``), the filing queues (``queues``),
full-text search (``search``) and bulk ingest (``bulk``).

The rest of ``store`` talks to Peewee models; a PostgreSQL backend would replace this package (its
``ON CONFLICT`` clauses are already standard SQL, ``iif`` and ``json_*`` would need equivalents).
"""
