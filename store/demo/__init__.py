"""The built-in demo archive read by ``sk_test_`` keys: bundled generator (``generate``) and its archive."""
