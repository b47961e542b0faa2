"""The data API of the Devhelion reference (events feed), as plain SQL on a given connection.

Plain SQL rather than the Peewee models, which are bound to the one global archive: the same queries answer
``sk_live_`` keys from the user's archive and ``sk_test_`` keys from the demo archive.
"""
