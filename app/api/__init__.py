"""The HTTP API: one route module per resource, what routes depend on, the request limits
from the settings, and the OpenAPI document."""
