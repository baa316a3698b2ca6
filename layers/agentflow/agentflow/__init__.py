"""AgentFlow: recorded two-party sessions in, verifiable signed summaries out."""

__version__ = "0.1.0"
