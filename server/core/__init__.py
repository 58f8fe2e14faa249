"""Cross-cutting pieces that know no area."""
