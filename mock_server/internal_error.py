"""The one answer to a bug in the mock: an honest HTTP 500 with a JSON body.

Never a traceback on the wire (it goes to the server log); never disguised as a 4xx, which would
hide the bug from every fuzzing check that looks for server errors (tests/mock_server prove that
no input produces it).
"""

from __future__ import annotations

from typing import Any

STATUS = 500
STATUS_LINE = "500 Internal Server Error"


def body(where: str = "this request") -> dict[str, Any]:
    return {"error": "Internal error in the mock",
            "message": f"The mock failed on {where} (a bug in the mock); the server log has the traceback."}
