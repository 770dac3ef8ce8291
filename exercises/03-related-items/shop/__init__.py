"""Shop: the back end of the Trailhead Outfitters web shop (catalog, customers, orders, product pages)."""

__version__ = "4.7.2"
