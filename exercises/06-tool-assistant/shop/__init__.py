"""Shop: the order API behind the support console (orders, returns, refunds)."""

__version__ = "3.1.0"
