"""The embedded local AWS: moto server, resources provisioned from template.yaml, queue pollers."""
