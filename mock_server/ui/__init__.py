"""The inbox: a web page of the mock (under /_mock/ui/) that shows each message as the phone
would, with its delivery story, like Mailpit for e-mail. It reads the journal the control plane
reads; see mock_server.ui.routes."""

from mock_server.ui.routes import blueprint

__all__ = ["blueprint"]
