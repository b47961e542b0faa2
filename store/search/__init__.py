"""Full-text search over the archive (SQLite FTS5): message text, tool inputs and tool results.

The index itself (tables, triggers, migration) lives in ``store.sqlite.search``; this package turns user
queries into FTS5 expressions (:mod:`store.search.query`) and runs them (:mod:`store.search.index`).
"""

from store.search.index import RANK_WINDOW, search, session_text_condition
from store.search.query import SearchSyntaxError, to_fts

__all__ = ["RANK_WINDOW", "SearchSyntaxError", "search", "session_text_condition", "to_fts"]
