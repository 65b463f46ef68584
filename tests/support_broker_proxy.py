"""A TCP proxy in front of Redis that a test switches off and on, to make the broker really unreachable."""

import contextlib
import select
import socket
import threading
from urllib.parse import urlsplit, urlunsplit

import kombu.pools
import pytest
from django.conf import settings


class BrokerProxy:
    """Forwards 127.0.0.1:<port> to the broker. Off: the port refuses connections and open ones are cut."""

    def __init__(self, upstream_host: str, upstream_port: int):
        self.upstream = (upstream_host, upstream_port)
        self.port = self._free_port()
        self._listener: socket.socket | None = None
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._on = threading.Event()
        self.connections_accepted = 0

    @staticmethod
    def _free_port() -> int:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            return probe.getsockname()[1]

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(32)
        listener.settimeout(0.1)
        self._listener = listener
        self._on.set()
        threading.Thread(target=self._accept_loop, args=(listener,), daemon=True).start()

    def stop(self) -> None:
        """Switch off: stop listening (new connections are refused) and cut every open connection."""
        self._on.clear()
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        with self._lock:
            sockets, self._sockets = self._sockets, set()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _accept_loop(self, listener: socket.socket) -> None:
        while self._on.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.upstream, timeout=2)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            client.settimeout(None)
            with self._lock:
                self._sockets.update((client, upstream))
                self.connections_accepted += 1
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()

    def _pump(self, a: socket.socket, b: socket.socket) -> None:
        try:
            while True:
                readable, _, _ = select.select([a, b], [], [], 0.5)
                for sock in readable:
                    data = sock.recv(65536)
                    if not data:
                        return
                    (b if sock is a else a).sendall(data)
        except (OSError, ValueError):
            return
        finally:
            with self._lock:
                self._sockets.discard(a)
                self._sockets.discard(b)
            for sock in (a, b):
                with contextlib.suppress(OSError):
                    sock.close()


def celery_pools_reset(app) -> None:
    """Forget every cached broker connection and producer, so the next send connects to broker_url anew."""
    kombu.pools.reset()  # closes and drops the process-wide connection and producer pools
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture
def broker_proxy():
    """Point the web side's Celery app at a proxy to Redis; restore the real broker URL afterwards."""
    from worker.celery import app

    real = urlsplit(settings.REDIS_URL)
    proxy = BrokerProxy(real.hostname, real.port or 6379)
    proxy.start()
    original_url = app.conf.broker_url
    celery_pools_reset(app)
    app.conf.broker_url = urlunsplit(real._replace(netloc=f"127.0.0.1:{proxy.port}"))
    try:
        yield proxy
    finally:
        proxy.stop()
        celery_pools_reset(app)
        app.conf.broker_url = original_url
        assert app.conf.broker_url == original_url
