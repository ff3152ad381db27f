"""Ways out of a case: SQL over its tables (`seized query`) and files for other tools
(`seized export`: bulk_extractor, DFXML, TSK body file, CASE/UCO, CSV, JSON Lines).

Everything here reads the case's Parquet tables through DuckDB or pyarrow in batches;
nothing loads a whole table, and nothing writes inside the case except the manifest's
`exports` section.
"""
