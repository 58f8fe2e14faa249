"""Visit evidence routes: photos (and visit forms)."""
