"""SPEC ids, documents, the SPEC.md tracker and its linter."""
