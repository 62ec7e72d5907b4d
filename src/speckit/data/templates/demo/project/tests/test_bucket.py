import unittest

from ratelimit import TokenBucket


class TokenBucketTest(unittest.TestCase):
    def test_allows_up_to_capacity_then_refuses(self) -> None:
        bucket = TokenBucket(capacity=5, per_second=1.0)
        self.assertEqual([bucket.allow(now=0.0) for _ in range(6)], [True] * 5 + [False])

    def test_refills_over_time(self) -> None:
        bucket = TokenBucket(capacity=2, per_second=0.5)
        self.assertEqual([bucket.allow(0.0) for _ in range(3)], [True, True, False])
        self.assertTrue(bucket.allow(2.0))  # one token back after two seconds
        self.assertFalse(bucket.allow(2.0))

    def test_never_holds_more_than_capacity(self) -> None:
        bucket = TokenBucket(capacity=3, per_second=10.0)
        bucket.allow(0.0)
        self.assertEqual(sum(bucket.allow(100.0) for _ in range(5)), 3)


if __name__ == "__main__":
    unittest.main()
