"""An import-linter contract type the stock ones lack: "these modules import only the standard
library" (and each other). A `forbidden` contract can only list what is refused, so a new
dependency would slip past it; this one lists what is allowed.

Used by pyproject.toml (`contract_types`) for `club.rules`, the pure rules every layer reads.
"""

from __future__ import annotations

import sys

from grimp import ImportGraph
from importlinter import Contract, ContractCheck, fields, output


class StdlibOnlyContract(Contract):
    type_name = "stdlib_only"

    source_modules = fields.ListField(subfield=fields.ModuleField())

    def check(self, graph: ImportGraph, verbose: bool) -> ContractCheck:
        sources = [m.name for m in self.source_modules]  # type: ignore[attr-defined]
        own = set(sources)
        for source in sources:
            own |= graph.find_descendants(source)
        broken = []
        for importer in sorted(own):
            for imported in sorted(graph.find_modules_directly_imported_by(importer)):
                top = imported.split(".")[0]
                if imported in own or top in sys.stdlib_module_names:
                    continue
                lines = [
                    d["line_number"]
                    for d in graph.get_import_details(importer=importer, imported=imported)
                ]
                broken.append((importer, imported, lines))
        return ContractCheck(kept=not broken, metadata={"broken": broken})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for importer, imported, lines in check.metadata["broken"]:
            where = ", ".join(f"l.{n}" for n in lines)
            output.print_error(
                f"{importer} imports {imported} ({where}): only the standard library is allowed"
            )
            output.new_line()
