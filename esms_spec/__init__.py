"""The eSMS Zalo OpenAPI documents, and the one reader of them.

The specs in spec/ are this package's data (`esms_spec.documents`), so they travel with an
installed mock. The mock's runtime view (`mock_server.esms.spec`), the SDK generator (`sdkgen`)
and the test helpers all read them through here: one loader (with a cache keyed by content), one
`$ref` resolver, one result-code table. It imports neither the mock nor the generator.
"""

from __future__ import annotations

from esms_spec.codes import SUCCESS_FAMILY, ResultCode, result_codes
from esms_spec.errors import SpecError
from esms_spec.loading import CONTROL_SPEC, ESMS_SPEC, SPECS, load_spec, load_yaml, spec_path
from esms_spec.refs import at, deref, pointer, pointer_segments, resolve

__all__ = [
    "CONTROL_SPEC",
    "ESMS_SPEC",
    "SPECS",
    "SUCCESS_FAMILY",
    "ResultCode",
    "SpecError",
    "at",
    "deref",
    "load_spec",
    "load_yaml",
    "pointer",
    "pointer_segments",
    "resolve",
    "result_codes",
    "spec_path",
]
