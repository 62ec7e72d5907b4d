"""A token bucket: `capacity` attempts at once, refilled at `per_second` tokens a second."""


class TokenBucket:
    def __init__(self, capacity: int, per_second: float) -> None:
        self.capacity = capacity
        self.per_second = per_second
        self.tokens = float(capacity)
        self.last = 0.0

    def allow(self, now: float) -> bool:
        """Whether one more login attempt at time `now` (in seconds) is allowed."""
        raise NotImplementedError("the SPEC asks for this: limit login attempts")
