"""The case directory's format: what a scan writes and every reader reads.

Below both the scan (`seized/`) and the readers (`reports/`, `exports/`, `known/`): table
schemas (`schema`), the sorted Parquet writer and finding ids (`tables`), the manifest's
helpers (`manifest`), the journal of finished units (`journal`), and the one atomic writer
every file of a case goes through (`atomic`). Imports nothing of the project but
`extractors` (the finding classes give the finding tables their columns).
"""
