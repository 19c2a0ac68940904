"""Run the Diameter Gy server (RFC 4006 credit control) until stopped (Ctrl-C or SIGTERM)."""

import logging
import signal
import threading

from django.core.management.base import BaseCommand, CommandError

from charging.online.gy_server import GyServer


class Command(BaseCommand):
    help = (
        "Serve Diameter Gy (credit control) to the host networks' peers (manage.py gy_peer). "
        "Peers are read at start: restart after adding one."
    )

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
        parser.add_argument("--port", type=int, default=3868, help="TCP port (3868)")
        parser.add_argument("--origin-host", default="ocs.billing.local",
                            help="our DiameterIdentity")  # fmt: skip
        parser.add_argument("--realm", default="billing.local", help="our Origin-Realm")
        parser.add_argument("--workers", type=int, default=8,
                            help="threads answering credit-control requests")  # fmt: skip

    def handle(self, *args, host, port, origin_host, realm, workers, **options):
        if port < 1 or workers < 1:
            raise CommandError("--port and --workers are 1 or more")
        if options["verbosity"] < 2:
            # python-diameter logs every message at INFO: a line per request is too dear.
            logging.getLogger("diameter").setLevel(logging.WARNING)
        server = GyServer(host=host, port=port, origin_host=origin_host, realm=realm,
                          workers=workers)  # fmt: skip
        try:
            server.start()
        except OSError as error:
            raise CommandError(f"cannot listen on {host}:{port}: {error}") from error
        peers = ", ".join(server.peers) or "none (add one with manage.py gy_peer add)"
        self.stdout.write(f"Gy server {origin_host} listening on {host}:{server.port}; "
                          f"peers: {peers}", ending="\n")  # fmt: skip
        self.stdout.flush()
        stopping = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stopping.set())
        stopping.wait()
        self.stdout.write("Gy server stopping (DPR to every peer)")
        server.stop()
