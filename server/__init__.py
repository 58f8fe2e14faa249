"""FieldSales: field sales plan execution server."""
