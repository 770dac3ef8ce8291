"""Helpdesk: the help centre of the shop's customer-care team (articles, import and search)."""

__version__ = "3.2.0"
