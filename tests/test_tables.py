"""The table contract: every finding class maps to Arrow and keeps clear of provenance columns."""
import dataclasses

import pyarrow as pa

from extractors.base import Finding
from extractors.registry import EXTRACTORS
from reports import schema
from seized.tables import final_schema, finding_classes


def test_each_registry_entry_names_a_finding_dataclass():
    for ext in EXTRACTORS:
        assert dataclasses.is_dataclass(ext.finding) and issubclass(ext.finding, Finding), ext.name


def test_every_finding_table_has_a_schema_with_provenance_first():
    provenance = [f.name for f in schema.PROVENANCE]
    for name, cls in finding_classes().items():
        sch = final_schema(name)
        assert isinstance(sch, pa.Schema)
        assert sch.names[: len(provenance)] == provenance, name
        own = [f.name for f in dataclasses.fields(cls) if f.name != "offset"]
        assert not set(own) & set(provenance), (name, set(own) & set(provenance))
        assert len(sch.names) == len(provenance) + len(own), name
