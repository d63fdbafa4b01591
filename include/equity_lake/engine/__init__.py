"""The dataset engine: write-audit-publish, the dataset registry and the one runner."""
