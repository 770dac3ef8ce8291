"""On-call: incidents, their timelines and the digests the incident commander posts at hand-over."""

__version__ = "1.8.0"
