"""`speckit tui`: a Textual face over the pipeline (run_stage, run_auto, collect_status)."""
