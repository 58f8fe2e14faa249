"""Visit evidence: photos and visit forms (DESIGN.md §5)."""
