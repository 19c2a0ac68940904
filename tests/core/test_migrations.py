"""Every model change has its migration, so a fresh database matches the code."""

from io import StringIO

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_no_model_change_lacks_a_migration():
    out = StringIO()
    try:
        call_command("makemigrations", "--check", "--dry-run", stdout=out, stderr=out)
    except SystemExit as exit_:
        assert not exit_.code, f"missing migrations:\n{out.getvalue()}"
