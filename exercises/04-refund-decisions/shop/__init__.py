"""Shop back office: orders and the refund desk."""

__version__ = "4.8.2"
