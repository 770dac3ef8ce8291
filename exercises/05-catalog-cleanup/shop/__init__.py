"""Shop: the back office of a small online grocery and kitchen shop (catalog, imports, search)."""

__version__ = "1.8.0"
