"""Implement for real: candidates coded in git worktrees, tested, compared and applied."""
