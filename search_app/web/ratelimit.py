"""The per-client token bucket behind the API's rate limit, and its defaults. No Flask
here: the command line reads the defaults for its --help without loading the web app."""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict

# Defaults; each can be overridden through create_app's config.
RATE_DEFAULTS = {
    "RATELIMIT_ENABLED": True,
    "RATELIMIT_PER_MINUTE": 120,  # sustained requests per client IP
    "RATELIMIT_BURST": 30,  # bucket size: a page of quick clicks never waits
    "RATELIMIT_EXPORT_COST": 10,  # a CSV export runs up to 50 searches
    "RATELIMIT_MAX_CLIENTS": 10_000,  # buckets kept; least recently seen dropped first
}


class TokenBucketLimiter:
    """In-process token bucket per key. Thread-safe; memory bounded by *max_clients*.

    With several server processes each has its own buckets, so the effective limit is
    multiplied by the process count; `gongkai serve` runs one process with threads."""

    def __init__(self, per_minute: float, burst: int, max_clients: int = 10_000,
                 clock=time.monotonic):
        self.rate = per_minute / 60.0
        self.burst = max(1, int(burst))
        self.max_clients = max(1, int(max_clients))
        self.clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, key: str, cost: int = 1) -> int:
        """Spend *cost* tokens: 0 when allowed, else whole seconds until it would be."""
        cost = min(max(1, cost), self.burst)  # a cost above the burst could never pass
        now = self.clock()
        with self._lock:
            tokens, last = self._buckets.pop(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate)
            if tokens >= cost:
                tokens -= cost
                wait = 0
            else:
                wait = max(1, math.ceil((cost - tokens) / self.rate)) if self.rate else 3600
            self._buckets[key] = (tokens, now)
            while len(self._buckets) > self.max_clients:
                self._buckets.popitem(last=False)
        return wait
