"""Schemathesis hooks for `make fuzz` (loaded through SCHEMATHESIS_HOOKS).

The import upload (`POST /api/v1/imports/{id}/records`) reads application/x-ndjson, which
schemathesis cannot serialize by itself: a generated body is sent as one JSON value per line."""
import json

import schemathesis


@schemathesis.serializer("application/x-ndjson")
def ndjson(ctx, value):
    items = value if isinstance(value, list) else [value]
    return "".join(json.dumps(item) + "\n" for item in items).encode()
