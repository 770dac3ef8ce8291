"""Helpdesk: support-ticket intake and routing for the customer-care team."""

__version__ = "2.6.0"
