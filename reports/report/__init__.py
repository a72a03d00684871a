"""The report generator behind reports/simdrop_report.py, by concern:

    runs.py        loading and validation of simdrop_bench JSON; the ops and element types a run's context lists
    stats.py       Mann-Whitney U, spread, validation z-scores, the roofline, the default path's verdict
    formatting.py  how figures, sizes and implementations are written
    tables.py      machine, calibration, headline, summary, by p, ISA paths, expectation, spread
    pictures.py    throughput, speed-up, relative to copy, thread scaling, mask memory, bandwidth by size
    family.py      the dropout family
    half.py        the 16-bit types (issue 11)
    compare.py     several runs side by side
    document.py    Report: the sections in order, report.md
"""
