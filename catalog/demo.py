"""Demo data of the catalogue: the scenario's catalogue and a few more plans, idempotently.

Both files are catalogue documents (docs/catalog-format.md) loaded through ``catalog_import``:
loading them again finds every object identical and changes nothing.
"""

from pathlib import Path

from catalog.document import catalog_import, document_load

EXAMPLES = Path(__file__).resolve().parent / "examples"
# In order: demo-extras.yaml names objects of golden-october.yaml.
DEMO_FILES = ("golden-october.yaml", "demo-extras.yaml")


def load(*, acting_user=None) -> str:
    """Import the example catalogues; return what was done, file by file."""
    done = []
    for name in DEMO_FILES:
        document = document_load((EXAMPLES / name).read_bytes(), format="yaml")
        summary = catalog_import(document=document, acting_user=acting_user)
        done.append(f"{name}: {summary}")
    return "; ".join(done)
