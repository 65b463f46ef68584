"""Who a request comes from, and fixed-window counters in the shared cache: the one mechanism behind the sign-in
lockout (cases.security), the verification page's throttle (documents.views), the portal's account actions
(applicants.accounts) and its dossier lookup (applicants.pages.follow). It sits here, below every app, because
documents is below cases and each of them needs it."""

import math
import time

from django.core.cache import cache
from rest_framework.settings import api_settings


def client_ip(request) -> str:
    """The client's address: REMOTE_ADDR, or the address the trusted proxies saw (REST_FRAMEWORK NUM_PROXIES,
    set in production). X-Forwarded-For is never trusted without it: anyone can send that header."""
    meta = request.META
    remote = meta.get("REMOTE_ADDR") or "unknown"
    proxies = api_settings.NUM_PROXIES
    forwarded = meta.get("HTTP_X_FORWARDED_FOR")
    if not proxies or not forwarded:
        return remote
    addresses = [a.strip() for a in forwarded.split(",") if a.strip()]
    return addresses[-min(proxies, len(addresses))] if addresses else remote


def window_hit(key: str, window: int) -> int:
    """Count one hit on `key`; the hits so far in its window, which starts at the key's first hit and lasts
    `window` seconds (then the count starts again)."""
    cache.add(f"{key}:start", time.time(), window)
    cache.add(key, 0, window)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, window)
        return 1


def window_retry_after(key: str, window: int, *, started: float | None = None) -> int:
    """Seconds until `key`'s window ends (at least 1). started: the window's start when already read."""
    now = time.time()
    if started is None:
        started = float(cache.get(f"{key}:start") or now)
    return max(1, math.ceil(started + window - now))
