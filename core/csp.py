from csp.middleware import CSPMiddleware


class HtmlCSPMiddleware(CSPMiddleware):
    """Content-Security-Policy on HTML pages only: browsers apply it to documents, and
    building it for every JSON answer of the API costs about a millisecond."""

    def process_response(self, request, response):
        if not response.get("Content-Type", "").startswith("text/html"):
            return response
        return super().process_response(request, response)
