"""A simple per-route rate-limit bucket with Discord's 429 answer and X-RateLimit-* headers."""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass, field

from .errors import ApiError


@dataclass(frozen=True)
class RateLimitPolicy:
    """`limit` requests per `window` seconds for each route + major parameter.

    `advertise=False` hides the bucket (no headers on successful answers), like one of
    Discord's undisclosed sub-limits: the client only learns about it from a 429.
    `routes` restricts the policy to route keys such as "POST /channels/{channel_id}/messages".
    """

    limit: int = 5
    window: float = 1.0
    advertise: bool = True
    routes: frozenset[str] | None = None


@dataclass
class _Bucket:
    started: float
    used: int = 0


@dataclass
class _Forced:
    route: str
    remaining: int
    retry_after: float


@dataclass
class RateLimiter:
    policy: RateLimitPolicy | None = None
    _buckets: dict[str, _Bucket] = field(default_factory=dict)
    _forced: list[_Forced] = field(default_factory=list)
    limited_count: int = 0

    def force(self, route: str, *, count: int = 1, retry_after: float = 0.2) -> None:
        """The next `count` requests on `route` get a 429, whatever the policy says."""
        self._forced.append(_Forced(route, count, retry_after))

    def check(self, route: str, major: str) -> dict[str, str]:
        """Headers for a request that may proceed; raises ApiError(429) otherwise."""
        for forced in self._forced:
            if forced.route == route and forced.remaining > 0:
                forced.remaining -= 1
                raise self._limited(route, forced.retry_after, limit=1)
        policy = self.policy
        if policy is None or (policy.routes is not None and route not in policy.routes):
            return {}
        now = time.monotonic()
        key = f"{route}:{major}"
        bucket = self._buckets.get(key)
        if bucket is None or now - bucket.started >= policy.window:
            bucket = self._buckets[key] = _Bucket(started=now)
        reset_after = max(0.0, bucket.started + policy.window - now)
        if bucket.used >= policy.limit:
            raise self._limited(route, reset_after, limit=policy.limit)
        bucket.used += 1
        if not policy.advertise:
            return {}
        return _headers(route, policy.limit, policy.limit - bucket.used, reset_after)

    def _limited(self, route: str, retry_after: float, *, limit: int) -> ApiError:
        self.limited_count += 1
        retry_after = round(retry_after, 3)
        headers = _headers(route, limit, 0, retry_after)
        headers["Retry-After"] = str(max(1, math.ceil(retry_after)))
        headers["X-RateLimit-Scope"] = "user"
        headers["Via"] = "1.1 google"
        extra = {"retry_after": retry_after, "global": False}
        return ApiError(429, 0, "You are being rate limited.", headers=headers, extra=extra)


def _headers(route: str, limit: int, remaining: int, reset_after: float) -> dict[str, str]:
    return {
        "X-RateLimit-Limit": str(limit),
        "X-RateLimit-Remaining": str(remaining),
        "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
        "X-RateLimit-Reset-After": f"{reset_after:.3f}",
        "X-RateLimit-Bucket": hashlib.sha1(route.encode()).hexdigest()[:16],
    }
