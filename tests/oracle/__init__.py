"""The OpenFisca-France oracle: its own virtual environment and our runner (test-only, never imported by
the package: openfisca-france is AGPL)."""
