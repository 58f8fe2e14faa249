"""Stand-up board, weekly review and scorecard."""
