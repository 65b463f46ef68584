from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.exceptions import Throttled
from rest_framework.permissions import AllowAny
from rest_framework.throttling import AnonRateThrottle

from cases.security import login_lockout, login_refused_log


class TokenLoginThrottle(AnonRateThrottle):
    scope = "token_login"


class TokenLoginView(ObtainAuthToken):
    """Username and password in, API token out (tablets and scripts). Throttled against guessing: at most
    TOKEN_LOGIN_RATE requests per address, and after repeated failed sign-ins (cases/security.py) a 429 problem
    with Retry-After. Every failure is logged."""

    permission_classes = [AllowAny]
    throttle_classes = [TokenLoginThrottle]

    def post(self, request, *args, **kwargs):
        username = request.data.get("username", "") if hasattr(request.data, "get") else ""
        lockout = login_lockout(request, username)
        if lockout is not None:
            login_refused_log(request, username, lockout)
            refused = Throttled(detail=lockout.message())
            refused.wait = lockout.retry_after  # the problem handler sends it as Retry-After
            raise refused
        return super().post(request, *args, **kwargs)
