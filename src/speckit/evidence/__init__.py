"""Evidence on disk: file names and timestamps, locked JSONL, run keys and the
newest synthesis, human override files, the index cache, and re-judging bundles on disk.

Files are the only source of truth; any index is a cache rebuilt from them. Writing a
whole run (which needs the telemetry line format) is `speckit.pipeline.bundle`.
"""
