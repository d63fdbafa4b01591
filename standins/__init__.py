"""Local HTTP stand-ins for the real sources: EDGAR (:mod:`standins.edgar`, which ``make demo``
serves its carried filings from), Alpaca (:mod:`standins.alpaca`) and a plain file host
(:mod:`standins.files`), all on one base (:mod:`standins.base`); and a local PostgreSQL cluster
(:mod:`standins.postgres`: WRDS for the tests, the metadata database of ``make up``).

Not part of the shipped package or the task image: the demo and the tests import it from the
repository root.
"""
