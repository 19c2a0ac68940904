"""Allow, list or withdraw the Diameter peers (Origin-Host) of a host network on the Gy door."""

from django.core.management.base import BaseCommand, CommandError

from catalog.models import HostNetwork
from charging.online.models import DiameterPeer


class Command(BaseCommand):
    help = "Manage the Diameter peers allowed on the Gy door: add, list, remove."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        add = sub.add_parser("add", help="allow a peer (or re-activate it)")
        add.add_argument("host_network", help="the host network's code, e.g. HOSTNET")
        add.add_argument("origin_host", help="the peer's Origin-Host, e.g. pgw1.hostnet.example")
        add.add_argument("origin_realm", help="the peer's Origin-Realm, e.g. hostnet.example")
        sub.add_parser("list", help="the peers and their host networks")
        remove = sub.add_parser("remove", help="withdraw a peer (kept, made inactive)")
        remove.add_argument("origin_host")

    def handle(self, *args, action, **options):
        if action == "add":
            network = HostNetwork.objects.filter(code=options["host_network"].upper()).first()
            if network is None:
                raise CommandError(f"no host network {options['host_network']}")
            origin = options["origin_host"].lower()
            peer = DiameterPeer.objects.filter(origin_host=origin).first()
            if peer is not None and peer.host_network_id != network.pk:
                raise CommandError(f"{origin} is a peer of {peer.host_network}")
            peer = peer or DiameterPeer(host_network=network, origin_host=origin)
            peer.origin_realm = options["origin_realm"]
            peer.active = True
            peer.save()
            self.stdout.write(f"{peer.origin_host} ({peer.origin_realm}) may speak Gy for "
                              f"{network.code}; restart diameter_gy to take it")  # fmt: skip
        elif action == "list":
            for peer in DiameterPeer.objects.select_related("host_network"):
                state = "active" if peer.active else "inactive"
                self.stdout.write(f"{peer.host_network.code}\t{peer.origin_host}\t"
                                  f"{peer.origin_realm}\t{state}")  # fmt: skip
        else:
            updated = DiameterPeer.objects.filter(
                origin_host=options["origin_host"].lower()
            ).update(active=False)
            if not updated:
                raise CommandError(f"no peer {options['origin_host']}")
            self.stdout.write(f"{options['origin_host']} withdrawn; restart diameter_gy")
