"""The scripted workspace of the pipeline tests, for the hostile-input tests."""

from tests.pipeline.conftest import scripted

__all__ = ["scripted"]
