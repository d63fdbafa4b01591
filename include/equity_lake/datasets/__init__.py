"""One module per dataset: how a partition is planned, fetched, audited and published."""
