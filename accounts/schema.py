"""OpenAPI description of the service-key header (imported by AccountsConfig.ready)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ServiceKeyScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.ServiceKeyAuthentication"
    name = "serviceKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "Api-Key <key>: a service key created by an operator.",
        }
