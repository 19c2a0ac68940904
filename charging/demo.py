"""Demo data of charging: the golden October sample files, ingested through mediation."""

from pathlib import Path

from django.conf import settings

from charging.models import FileOrigin, UsageFile
from charging.services import usage_file_ingest

SAMPLE_FILES = (
    "CDR_HOSTNET_20261101000500_000001.csv",
    "CDR_HOSTNET_20261101001000_000002.csv",
    "CDR_HOSTNET_20261101000500_000001.csv",  # the same file again: refused (R17)
    "CDR_HOSTNET_20261101003000_000004.csv",  # trailer says 3, holds 2: quarantined (R18)
)


def sample_dir() -> Path:
    """Where the sample files are: bundled with the project (the repository stands alone)."""
    return Path(settings.BASE_DIR) / "charging" / "samples"


def load() -> str:
    """Ingest the scenario's files once, in the order the scenario has them arrive."""
    if UsageFile.objects.filter(name=SAMPLE_FILES[0]).exists():
        return "sample usage files already ingested"
    directory = sample_dir()
    statuses = []
    for name in SAMPLE_FILES:
        usage_file = usage_file_ingest(
            name=name, content=(directory / name).read_bytes(), origin=FileOrigin.COMMAND
        )
        statuses.append(f"{name[-10:-4]} {usage_file.status}")
    return "; ".join(statuses)
