"""The daily planner and the task lifecycle."""
