"""The Gy server: a Diameter node (RFC 6733) serving credit control (RFC 4006) over TCP.

The base protocol - capabilities exchange (CER/CEA), watchdog (DWR/DWA), disconnect (DPR/DPA),
peer table, retransmission check - is the ``python-diameter`` package's ``Node``; only peers
listed as active ``DiameterPeer`` rows (``manage.py gy_peer``) pass the CER, any other
Origin-Host is answered DIAMETER_UNKNOWN_PEER (3010) and disconnected. Credit-control requests
are answered by ``charging.online.gy``.

Threads and the database: the node reads and writes sockets in its own thread and hands each
request to a fixed pool of worker threads. Each worker keeps its own Django database
connection for its whole life (Django's connections are per thread; none is shared), checks it
before each request (``close_old_connections``: a broken or too old one is replaced) and closes
it when the server stops. The node's own threads never touch the database.
"""

import logging
import queue
import threading

from diameter.message import constants as c
from diameter.node import Node
from diameter.node.application import Application
from django.db import close_old_connections, connections

from charging.online import gy

logger = logging.getLogger("charging.online.gy")
STOP = object()


class GyApplication(Application):
    """Diameter Credit-Control (application 4), answered by a fixed pool of workers."""

    def __init__(self, *, networks: dict, workers: int = 8) -> None:
        super().__init__(gy.APPLICATION_ID, is_auth_application=True)
        self.networks = networks  # origin host (lower case) -> HostNetwork
        self.queue: queue.Queue = queue.Queue()
        self.workers = [
            threading.Thread(target=self._work, name=f"gy-worker-{i}", daemon=True)
            for i in range(workers)
        ]
        self.answered = 0

    def start(self) -> None:
        for worker in self.workers:
            worker.start()

    def stop(self) -> None:
        for _ in self.workers:
            self.queue.put(STOP)
        for worker in self.workers:
            worker.join(timeout=30)

    def handle_request(self, message) -> None:
        # Called in the node's socket thread: hand over, never block it.
        self.queue.put(message)

    def _work(self) -> None:
        try:
            while True:
                message = self.queue.get()
                if message is STOP:
                    return
                close_old_connections()
                try:
                    answer = self.answer(message)
                except Exception:  # a database outage, a bug: the peer still gets an answer
                    logger.exception("Gy request %s failed", getattr(message, "session_id", "?"))
                    answer = self._error(message, c.E_RESULT_CODE_DIAMETER_UNABLE_TO_COMPLY,
                                         "the charging service failed; try again")  # fmt: skip
                self.send_answer(answer)
                self.answered += 1
        finally:
            connections.close_all()

    def _error(self, message, code: int, text: str):
        answer = self.generate_answer(message, result_code=code)
        gy.error_message_set(answer, text)
        for name in ("cc_request_type", "cc_request_number"):
            if getattr(message, name, None) is not None:
                setattr(answer, name, getattr(message, name))
        return answer

    def answer(self, message):
        if message.header.command_code != c.CMD_CREDIT_CONTROL:
            return self._error(message, c.E_RESULT_CODE_DIAMETER_COMMAND_UNSUPPORTED,
                               "only Credit-Control is served")  # fmt: skip
        origin = gy._text(getattr(message, "origin_host", b"")).lower()
        network = self.networks.get(origin)
        if network is None:
            return self._error(message, gy.AUTHORIZATION_REJECTED,
                               f"{origin} is no peer of a host network")  # fmt: skip
        return gy.credit_control(
            message, network=network, origin_host=self.node.origin_host,
            origin_realm=self.node.realm_name,
        )  # fmt: skip


class GyServer:
    """A running Gy node: ``start()``, ``port``, ``stop()`` (used by the command and tests)."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 3868,
                 origin_host: str = "ocs.billing.local", realm: str = "billing.local",
                 workers: int = 8) -> None:  # fmt: skip
        self.host, self.requested_port = host, port
        self.origin_host, self.realm, self.workers = origin_host, realm, workers
        self.node: Node | None = None
        self.application: GyApplication | None = None
        self.connections: list = []  # python-diameter's PeerConnection, see _track_connections

    def load_peers(self) -> dict:
        from charging.online.models import DiameterPeer

        peers = {
            peer.origin_host: peer
            for peer in DiameterPeer.objects.filter(active=True).select_related("host_network")
        }
        connections.close_all()  # the starting thread's connection is not a worker's
        return peers

    def start(self) -> "GyServer":
        peers = self.load_peers()
        node = Node(self.origin_host, self.realm, ip_addresses=[self.host],
                    tcp_port=self.requested_port, vendor_ids=[c.VENDOR_TGPP])  # fmt: skip
        node.product_name = "mvno-billing Gy"
        node.vendor_id = 0
        node.idle_timeout = 30
        known = [
            node.add_peer(f"aaa://{peer.origin_host}", peer.origin_realm) for peer in peers.values()
        ]
        application = GyApplication(
            networks={origin: peer.host_network for origin, peer in peers.items()},
            workers=self.workers,
        )
        node.add_application(application, known, realms=[self.realm])
        self._track_connections(node)
        node.start()
        self.node, self.application = node, application
        return self

    @property
    def port(self) -> int:
        return self.node.tcp_sockets[0].getsockname()[1]

    @property
    def peers(self) -> list[str]:
        return sorted(self.node.peers) if self.node else []

    def stop(self, timeout: int = 10) -> None:
        if self.node is not None:
            self.node.stop(wait_timeout=timeout, force=True)
            self._end_connection_threads(everyone=True)
            self.node = None

    def _track_connections(self, node) -> None:
        """Keep every peer connection the node accepts, to end its threads once it is gone.

        python-diameter gives each connection a reader and a writer thread (not daemons) that
        some of its disconnect paths never stop: each reconnecting peer left two threads for
        good, and a stopped server's process never exited. The node offers no hook, so its
        ``_add_peer_connection`` is wrapped.
        """
        accept = node._add_peer_connection

        def add(connection, *args, **kwargs):
            self._end_connection_threads()
            self.connections.append(connection)
            return accept(connection, *args, **kwargs)

        node._add_peer_connection = add

    def _end_connection_threads(self, *, everyone: bool = False) -> None:
        """Stop the threads of the connections the node no longer holds (or of all)."""
        live = set() if everyone or self.node is None else set(self.node.connections)
        for connection in [each for each in self.connections if each.ident not in live]:
            connection.close(signal_node=False)
            self.connections.remove(connection)
