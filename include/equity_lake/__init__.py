"""equity-lake domain library."""
