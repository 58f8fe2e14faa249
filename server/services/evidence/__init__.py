"""Visit evidence: photos taken at visits (and, beside them, visit forms)."""
