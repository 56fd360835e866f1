"""Generate the pydantic models with datamodel-code-generator (the version pinned in pyproject).

The tool runs in a child process whose working directory is an empty temporary folder, so that
no `[tool.datamodel-codegen]` table in a nearby pyproject.toml can change the output.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

# Every option is here, in one place, because the models' exact text depends on them.
# --formatters builtin: no black/isort, so their versions cannot change the bytes.
# --use-type-alias: constrained scalars (TemplateParam, DigitsOrInteger*) become type aliases
#   rather than RootModel classes, so callers pass plain str/int values.
# --openapi-scopes ... parameters --use-operation-id-as-name: GET query strings get models too
#   (`<OperationId>ParametersQuery`), so every operation has one request model.
# --base-class: every model shares the config in _base.py (aliases, numbers as strings, extras).
# --keep-model-order: stable order (dependencies first, then by name) whatever the spec's order.
# --snake-case-field names the fields the vocabulary does not (sdkgen/vocabulary.yaml, given as
#   --aliases: wire name or Model.wire name -> Python name; see naming.py).
DATAMODEL_CODEGEN_OPTIONS: tuple[str, ...] = (
    "--input-file-type", "openapi",
    "--openapi-scopes", "schemas", "paths", "parameters",
    "--use-operation-id-as-name",
    "--output-model-type", "pydantic_v2.BaseModel",
    "--base-class", "esms_zalo._base.EsmsModel",
    "--target-python-version", "3.11",
    "--use-annotated",
    "--field-constraints",
    "--use-standard-collections",
    "--use-union-operator",
    "--use-type-alias",
    "--enum-field-as-literal", "all",
    "--snake-case-field",
    "--use-schema-description",
    "--use-field-description",
    "--use-title-as-name",
    "--collapse-root-models",
    "--keep-model-order",
    "--use-double-quotes",
    "--disable-timestamp",
    "--formatters", "builtin",
)  # fmt: skip


class ModelGenerationError(Exception):
    """datamodel-code-generator failed; its own message is attached."""


def generate_models(spec_path: Path, header: str, aliases: Mapping[str, str]) -> str:
    """Return the text of models.py for the spec, starting with `header`; `aliases` maps wire
    names (or `Model.wire`) to the Python field names."""
    with tempfile.TemporaryDirectory(prefix="sdkgen-models-") as scratch:
        output = Path(scratch) / "models.py"
        aliases_file = Path(scratch) / "aliases.json"
        aliases_file.write_text(json.dumps(dict(sorted(aliases.items())), indent=1), encoding="utf-8")
        command = [
            sys.executable,
            "-m",
            "datamodel_code_generator",
            "--input",
            str(spec_path.resolve()),
            "--output",
            str(output),
            "--custom-file-header",
            header.rstrip("\n"),
            "--aliases",
            str(aliases_file),
            *DATAMODEL_CODEGEN_OPTIONS,
        ]
        result = subprocess.run(command, cwd=scratch, capture_output=True, text=True, check=False)
        if result.returncode != 0 or not output.exists():
            raise ModelGenerationError(result.stderr.strip() or result.stdout.strip())
        return output.read_text(encoding="utf-8")
