"""Helpdesk: support tickets, the agents' console and its reply assistant."""

__version__ = "2.6.1"
