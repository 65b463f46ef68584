from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.permissions import AllowAny
from rest_framework.throttling import AnonRateThrottle


class TokenLoginThrottle(AnonRateThrottle):
    scope = "token_login"


class TokenLoginView(ObtainAuthToken):
    """Username and password in, API token out (tablets and scripts). Throttled against guessing."""

    permission_classes = [AllowAny]
    throttle_classes = [TokenLoginThrottle]
