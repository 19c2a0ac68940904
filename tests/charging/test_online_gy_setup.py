"""Gy peers are managed by command; the online service shares its catalogue cache (benchmark)."""

import io

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from catalog.models import HostNetwork
from charging.online.models import DiameterPeer
from charging.online.services import shared_catalog

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = io.StringIO()
    call_command("gy_peer", *args, stdout=out)
    return out.getvalue()


def test_peers_are_added_listed_and_withdrawn_per_host_network():
    HostNetwork.objects.create(code="HOSTNET", name="Host", plmn_codes=["26203"],
                               country_code="49")  # fmt: skip
    other = HostNetwork.objects.create(code="OTHER", name="Other", plmn_codes=["20801"],
                                       country_code="33")  # fmt: skip
    assert "may speak Gy for HOSTNET" in run(
        "add", "hostnet", "PGW1.Hostnet.Example", "Hostnet.Example"
    )
    peer = DiameterPeer.objects.get()
    assert (peer.origin_host, peer.origin_realm, peer.active) == (
        "pgw1.hostnet.example", "hostnet.example", True)  # fmt: skip
    assert run("list") == "HOSTNET\tpgw1.hostnet.example\thostnet.example\tactive\n"
    run("remove", "pgw1.hostnet.example")
    assert DiameterPeer.objects.get().active is False
    run("add", "HOSTNET", "pgw1.hostnet.example", "hostnet.example")
    assert DiameterPeer.objects.get().active is True
    with pytest.raises(CommandError, match="is a peer of HOSTNET"):
        run("add", other.code, "pgw1.hostnet.example", "x")
    with pytest.raises(CommandError, match="no host network NOPE"):
        run("add", "NOPE", "a.example", "example")
    with pytest.raises(CommandError, match="no peer"):
        run("remove", "b.example")


def test_the_catalogue_cache_is_shared_within_its_interval_only():
    with override_settings(ONLINE_CATALOG_CACHE_SECONDS=60):
        first = shared_catalog()
        assert shared_catalog() is first
    with override_settings(ONLINE_CATALOG_CACHE_SECONDS=0):
        assert shared_catalog() is not shared_catalog()
