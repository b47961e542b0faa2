"""REST routes of the localhost API, one small module per area; each exposes an ``APIRouter`` named ``router``.

Routes stay thin: they validate parameters, call ``store`` (where every query lives) and wrap the result.
"""
