"""Local HTTP stand-ins for the real sources: EDGAR (:mod:`standins.edgar`, which ``make demo``
serves its carried filings from), Alpaca (:mod:`standins.alpaca`) and a plain file host
(:mod:`standins.files`), all on one base (:mod:`standins.base`).

Not part of the shipped package or the task image: the demo and the tests import it from the
repository root.
"""
