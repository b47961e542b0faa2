"""Model pricing: bundled dated price table, model-id matching and exact Decimal cost."""

from store.pricing.cost import (
    LONG_CONTEXT_THRESHOLD,
    LongContextTier,
    ModelPrice,
    PriceTable,
    TokenCounts,
    cost_usd,
    is_long_context,
    is_synthetic,
    micros,
)
from store.pricing.normalize import normalize_model_id

__all__ = [
    "LONG_CONTEXT_THRESHOLD",
    "LongContextTier",
    "ModelPrice",
    "PriceTable",
    "TokenCounts",
    "cost_usd",
    "is_long_context",
    "is_synthetic",
    "micros",
    "normalize_model_id",
]
