"""Create a host network's token for the online charging front doors and print it once."""

from django.core.management.base import BaseCommand, CommandError

from catalog.models import HostNetwork
from charging.online.services import charging_client_create


class Command(BaseCommand):
    help = "Create a bearer token for a host network's CHF client (Nchf_ConvergedCharging)."

    def add_arguments(self, parser):
        parser.add_argument("host_network", help="the host network's code, e.g. HOSTNET")
        parser.add_argument("name", help="what the token is for, e.g. smf-fra-1")

    def handle(self, *args, host_network, name, **options):
        network = HostNetwork.objects.filter(code=host_network.upper()).first()
        if network is None:
            raise CommandError(f"no host network {host_network}")
        _client, token = charging_client_create(host_network=network, name=name)
        self.stdout.write(token)
