"""Helpdesk: the nightly intake of the support mailbox (classify, draft a reply, report)."""

__version__ = "2.6.0"
