"""Evidence on disk (design §5): bundle files, their names, atomic writes, locked JSONL.

Files are the only source of truth; any index is a cache rebuilt from them.
"""
