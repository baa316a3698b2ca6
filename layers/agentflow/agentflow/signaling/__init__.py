"""The live call's signaling (docs/CALL.md): seats, relay, heartbeat over an API Gateway WebSocket API.

``edge`` parses API Gateway's WebSocket events (Powertools models) and calls ``service``;
``connections`` wraps the ``@connections`` management API; ``protocol`` spells the frames;
``ice`` answers ``GET /v1/sessions/{id}/ice-servers``. Importing this package loads nothing: the
signaling function's cold start pays only for what its handler imports.
"""
