"""The summary report (PDF)."""
