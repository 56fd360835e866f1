"""The floor of the mock's serving stack: Granian's RSGI interface with the mock's settings (one
worker, uvloop, HTTP/1) and a Python handler that reads the body, parses it and answers eSMS's
success body, validating and storing nothing. `make bench` measures it beside the mock and
WireMock: what the mock costs above it is its own work on the send, not the HTTP server's.

Run: python bench/floor.py PORT
"""

from __future__ import annotations

import sys
from typing import Any

import orjson
from granian import Granian
from granian.constants import HTTPModes, Interfaces, Loops

_HEADERS = [("content-type", "application/json; charset=utf-8")]
_ANSWER = orjson.dumps({"CodeResult": "100", "CountRegenerate": 0, "SMSID": "0123456789abcdef0123456789abcdef012"})


class Floor:
    async def __rsgi__(self, scope: Any, proto: Any) -> None:
        orjson.loads(await proto() or b"{}")
        proto.response_bytes(200, _HEADERS, _ANSWER)

    def __rsgi_init__(self, loop: Any) -> None:
        pass

    def __rsgi_del__(self, loop: Any) -> None:
        pass


def main() -> None:
    app = Floor()
    Granian(target="bench.floor:Floor", address="127.0.0.1", port=int(sys.argv[1]), interface=Interfaces.RSGI,
            loop=Loops.uvloop, workers=1, http=HTTPModes.http1, log_access=False,
            log_level="warning").serve(target_loader=lambda: app, wrap_loader=False)


if __name__ == "__main__":
    main()
