"""SEC EDGAR fundamentals: normalise companyfacts into a point-in-time long table, map XBRL tags
to canonical concepts, answer "what was known on date D", derive discrete quarters, and stream
the bulk archive. Reading and writing the lake is ``equity_lake.datasets.fundamentals``'s job.
"""
