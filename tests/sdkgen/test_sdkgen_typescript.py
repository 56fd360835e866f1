"""The TypeScript rendering (sdkgen/typescript.py): the same operations, names and models as the
Python SDK, in camelCase, with types and wire codecs read from the Python annotations."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from sdkgen.generate import SDK_VERSION, generate
from sdkgen.spec import SpecError
from sdkgen.typescript import TS_DIR, camel_case, codec, parse_annotation, ts_type

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "spec" / "esms-zalo.openapi.yaml"


@pytest.fixture(scope="module")
def produced() -> dict[str, str]:
    return {path: content.decode("utf-8") for path, content in generate(SPEC).items()}


@pytest.mark.parametrize(
    ("python", "typescript"),
    [("sms_id", "smsId"), ("send_zns_v5", "sendZnsV5"), ("oa_id", "oaId"), ("balance", "balance"), ("type_", "type")],
)
def test_a_typescript_name_is_the_camel_case_of_the_python_name(python: str, typescript: str) -> None:
    assert camel_case(python) == typescript


@pytest.mark.parametrize(
    ("annotation", "expected_type", "expected_codec"),
    [
        ("str", "string", "string"),
        ("int | None", "number | null", "number"),
        ("float", "number", "number"),
        ("bool", "boolean", "any"),
        ('Literal["0", "1"] | None', '"0" | "1" | null', "string-enum"),
        ("Literal[0, 1, 2, 4, 5, 7]", "0 | 1 | 2 | 4 | 5 | 7", "number-enum"),
        ('Literal["a b", "c"]', '"a b" | "c"', "any"),
        ("list[TempDataItem]", "Array<TempDataItem>", {"list": {"model": ["TempDataItem"]}}),
        ("dict[str, str]", "Record<string, string>", {"dict": "string"}),
        ("list[A | B]", "Array<A | B>", {"list": {"model": ["A", "B"]}}),
        ("A | B | None", "A | B | null", {"model": ["A", "B"]}),
        ("int | str", "number | string", "any"),
        ("dict[str, Any]", "Record<string, unknown>", {"dict": "any"}),
    ],
)
def test_an_annotation_becomes_a_typescript_type_and_a_wire_codec(
    annotation: str, expected_type: str, expected_codec: object
) -> None:
    members = parse_annotation(annotation)

    assert ts_type(members) == expected_type
    assert codec(members) == expected_codec


def test_an_annotation_it_cannot_read_stops_generation() -> None:
    with pytest.raises(SpecError):
        parse_annotation("list[int")


def test_every_python_method_has_its_camel_case_twin_with_camel_case_parameters(produced: dict[str, str]) -> None:
    python = produced["esms_zalo/_client.py"]
    typescript = produced[f"{TS_DIR}/src/client.ts"]
    python_methods = re.findall(r"^    def ([a-z0-9_]+)\(\n        self,\n        \*,\n(.*?)        timeout:", python, re.S | re.M)

    assert python_methods
    for name, block in python_methods:
        arguments = [camel_case(a) for a in re.findall(r"^        ([a-z0-9_]+):", block, re.M)]
        assert f"  {camel_case(name)}(args: " in typescript, name
        interface = re.search(
            rf"/\*\* The arguments of `{camel_case(name)}`\. \*/\nexport interface \w+ \{{\n(.*?)^\}}", typescript, re.S | re.M
        )
        assert interface is not None, name
        typed = re.findall(r"^  (\w+)\??: ", interface.group(1), re.M)
        assert typed == arguments, name


def test_every_operation_is_in_the_typescript_operations_table(produced: dict[str, str]) -> None:
    python_names = re.findall(r'^    name="([a-z0-9_]+)",', produced["esms_zalo/_operations.py"], re.M)
    typescript = produced[f"{TS_DIR}/src/operations.ts"]

    assert python_names
    for name in python_names:
        assert f'  name: "{camel_case(name)}",' in typescript


def test_every_result_code_family_is_an_error_class_in_both_sdks(produced: dict[str, str]) -> None:
    python = set(re.findall(r"^class (\w+Error)\(EsmsApiError\):", produced["esms_zalo/errors.py"], re.M))
    typescript = set(re.findall(r"^export class (\w+Error) extends EsmsApiError", produced[f"{TS_DIR}/src/errors.ts"], re.M))

    assert python and python == typescript


def test_the_npm_package_has_the_python_sdks_version_and_no_runtime_dependency(produced: dict[str, str]) -> None:
    manifest = json.loads(produced[f"{TS_DIR}/package.json"])

    assert manifest["name"] == "esms-zalo-sdk"
    assert manifest["version"] == SDK_VERSION
    assert manifest["type"] == "module"
    assert "dependencies" not in manifest
    assert manifest["exports"]["."]["types"] == "./dist/index.d.ts"
    assert manifest["exports"]["./mock"]["types"] == "./dist/mock.d.ts"


def test_the_typescript_sources_import_only_each_other_and_nothing_from_npm(produced: dict[str, str]) -> None:
    for path, text in produced.items():
        if path.startswith(f"{TS_DIR}/src/"):
            for module in re.findall(r'from "([^"]+)"', text):
                assert module.startswith("./") and module.endswith(".js"), (path, module)
