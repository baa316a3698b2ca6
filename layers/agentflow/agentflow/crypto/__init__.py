"""Canonical JSON, KMS signing, JWS/JWKS, verification."""
