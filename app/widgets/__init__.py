"""Small reusable widgets (one class per file)."""
