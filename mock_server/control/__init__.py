"""The control plane under /_mock (spec/mock-control.openapi.yaml): fixtures, journal, scenarios, clock."""
