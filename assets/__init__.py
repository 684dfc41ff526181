"""Content shipped with the package: scenarios, lessons, README images (see pyproject package-dir)."""
