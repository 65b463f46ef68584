"""Failed sign-ins: counted, logged and, past a limit, refused for a while.

Every failed sign-in (the page, the admin's page, the API's token login) is counted in the shared cache, which is
Redis in production, so that the count holds across gunicorn workers, and logged to the `sttt.security` logger with
the user name tried, the client address and the count. Three counters, each over a window that starts at the first
failure (LOGIN_FAILURE_WINDOW_SECONDS):

- the user name from one address (LOGIN_FAILURES_PER_USER_AND_IP): someone guessing one account's password;
- the user name from any address (LOGIN_FAILURES_PER_USER): guessing spread over many addresses;
- the address, whatever the user name (LOGIN_FAILURES_PER_IP): one address trying many accounts.

Once a counter reaches its limit, sign-ins it covers are refused, without checking the password, until its window
ends: the pages answer 429 with a message, the API a 429 problem with Retry-After. A successful sign-in clears the
counter of its user name and address.
"""

import hashlib
import logging
import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.signals import user_login_failed
from django.core.cache import cache
from django.dispatch import receiver
from django.utils.translation import ngettext

from config.ratelimit import client_ip, window_hit, window_retry_after

logger = logging.getLogger("sttt.security")


def _setting(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


def _normalise(username) -> str:
    return str(username or "").strip().lower()[:150]


def _key(scope: str, *parts: str) -> str:
    digest = hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:40]
    return f"login-failures:{scope}:{digest}"


def _counters(username: str, ip: str) -> list[tuple[str, str, int]]:
    """(scope, cache key, limit) of the counters a sign-in by `username` from `ip` falls under."""
    user = _normalise(username)
    return [
        ("user_ip", _key("user_ip", user, ip), _setting("LOGIN_FAILURES_PER_USER_AND_IP", 5)),
        ("user", _key("user", user), _setting("LOGIN_FAILURES_PER_USER", 20)),
        ("ip", _key("ip", ip), _setting("LOGIN_FAILURES_PER_IP", 30)),
    ]


def _window() -> int:
    return _setting("LOGIN_FAILURE_WINDOW_SECONDS", 15 * 60)


def _channel(request) -> str:
    path = getattr(request, "path", "") or ""
    if path.startswith("/api/"):
        return "api"
    if path.startswith("/admin/"):
        return "admin"
    return "page"


@dataclass(frozen=True)
class Lockout:
    scope: str
    failures: int
    retry_after: int  # seconds

    def message(self) -> str:
        minutes = max(1, math.ceil(self.retry_after / 60))
        return ngettext(
            "Too many failed sign-in attempts. Please wait %(minutes)s minute and try again.",
            "Too many failed sign-in attempts. Please wait %(minutes)s minutes and try again.",
            minutes) % {"minutes": minutes}


def login_lockout(request, username) -> Lockout | None:
    """The lockout that applies to a sign-in by `username` from this request's client, if any."""
    counters = _counters(username, client_ip(request))
    keys = [key for _scope, key, _limit in counters]
    values = cache.get_many(keys + [f"{key}:start" for key in keys])
    now = time.time()
    for scope, key, limit in counters:
        failures = int(values.get(key) or 0)
        if failures >= limit:
            started = float(values.get(f"{key}:start") or now)
            return Lockout(scope=scope, failures=failures,
                           retry_after=window_retry_after(key, _window(), started=started))
    return None


def login_failure_record(request, username) -> dict[str, int]:
    """Count a failed sign-in and log it; the counts per scope after this failure."""
    ip, window = client_ip(request), _window()
    counts = {}
    reached = []
    for scope, key, limit in _counters(username, ip):
        counts[scope] = window_hit(key, window)
        if counts[scope] == limit:
            reached.append(scope)
    extra = {"username": _normalise(username), "client_ip": ip, "failures": counts["user_ip"],
             "failures_user": counts["user"], "failures_ip": counts["ip"], "channel": _channel(request)}
    logger.warning("sign-in failed: username=%r ip=%s failures=%d (user %d, address %d) via %s",
                   extra["username"], ip, counts["user_ip"], counts["user"], counts["ip"], extra["channel"],
                   extra=extra)
    for scope in reached:
        logger.warning("sign-in throttled from now on: username=%r ip=%s scope=%s failures=%d window=%ss",
                       extra["username"], ip, scope, counts[scope], window, extra={**extra, "scope": scope})
    return counts


def login_refused_log(request, username, lockout: Lockout) -> None:
    ip = client_ip(request)
    logger.warning("sign-in refused, throttled: username=%r ip=%s scope=%s failures=%d retry_after=%ss via %s",
                   _normalise(username), ip, lockout.scope, lockout.failures, lockout.retry_after,
                   _channel(request), extra={"username": _normalise(username), "client_ip": ip,
                                             "failures": lockout.failures, "scope": lockout.scope,
                                             "channel": _channel(request), "throttled": True})


def login_success_record(request, username) -> None:
    """A successful sign-in clears the count of its user name from this address (not the others: one known
    password must not reset the count of guesses at other accounts)."""
    _scope, key, _limit = _counters(username, client_ip(request))[0]
    cache.delete_many([key, f"{key}:start"])


@receiver(user_login_failed, dispatch_uid="sttt-login-failure-record")
def _login_failed(sender, credentials, request=None, **kwargs):
    if request is not None:
        login_failure_record(request, credentials.get("username", ""))


class ThrottledModelBackend(ModelBackend):
    """The model backend, refusing while a lockout holds: every sign-in form (the admin's included) is covered,
    even one that does not check the lockout itself. The pages and the API check first, to say why."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is not None and login_lockout(request, username or kwargs.get("username")) is not None:
            return None
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is not None and request is not None:
            login_success_record(request, user.get_username() if username is None else username)
        return user
