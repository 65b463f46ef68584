"""gunicorn in production: `gunicorn -c config/gunicorn.conf.py config.wsgi` (README, "Production").

The shape: 2 × cores + 1 worker processes, each with 4 threads (`gthread`). A request that waits (a body still
arriving, the database, a file being written) holds one thread, not a whole process, so that a few slow or hostile
requests do not leave every other request waiting in the listen queue; the processes keep the cores busy despite
the GIL. The reverse proxy in front buffers request bodies (nginx does by default, `proxy_request_buffering on`):
gunicorn gets a body in one piece and at loopback speed, whatever the client's connection.

`bench/photo_bomb.py` runs this file as it is (only the bind address changes), so its figure is this shape's.
Every value can be set from the environment; the defaults are what the README's production commands run.
"""

import os

_CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)

wsgi_app = "config.wsgi:application"
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")  # private: only the reverse proxy reaches it
workers = int(os.environ.get("GUNICORN_WORKERS", str(2 * _CORES + 1)))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
# A worker process silent this long is replaced (with threads a slow request alone does not silence it).
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
# For a proxy that reuses its connections to gunicorn (nginx: `keepalive` in the upstream block).
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None  # the proxy keeps the access log


def post_worker_init(worker):
    """Before the worker's threads take requests."""
    # drf-spectacular loads its extensions while it generates its first schema, and two first schemas generated at
    # once by one process's threads made one of them fail with a 500 (tfranzel/drf-spectacular#1122): generate
    # one now (about a second), so that /api/schema/ and /api/docs/ are safe to ask for at once.
    try:
        from drf_spectacular.generators import SchemaGenerator

        SchemaGenerator().get_schema(request=None, public=True)
    except Exception:  # the service runs without it; the first requests then generate it as before
        worker.log.exception("the API schema could not be generated at start")
