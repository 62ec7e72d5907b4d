"""Login rate limiting: a token bucket per client (the speckit demo's tiny package)."""

from ratelimit.bucket import TokenBucket

__all__ = ["TokenBucket"]
