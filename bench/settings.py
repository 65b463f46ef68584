"""The product's settings plus one bench-only URL (a trivial JSON view as the framework floor)."""

from config.settings.base import *  # noqa: F401,F403

ROOT_URLCONF = "bench.urls"
