"""Use cases per area. Services flush, never commit: the request or job owns the transaction."""
