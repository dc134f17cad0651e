"""Request-body validation for compute, with JSON schemas as Nova declares them.

A failure is a 400 with Nova's wording: "Invalid input for field/attribute <name>. Value: <v>.
<reason>". Schemas live next to the handlers that use them.
"""

from __future__ import annotations

from typing import Any

import jsonschema

from sausage import errors

__all__ = ["validate", "NAME", "BOOLEAN", "METADATA", "POSITIVE_INT", "NON_NEGATIVE_INT"]

NAME = {"type": "string", "minLength": 1, "maxLength": 255,
        "pattern": r"^(?! )[^\x00-\x1f]*(?<! )$"}
BOOLEAN = {"type": ["boolean", "string"],
           "enum": [True, "True", "TRUE", "true", "1", "ON", "On", "on", "YES", "Yes", "yes",
                    False, "False", "FALSE", "false", "0", "OFF", "Off", "off", "NO", "No",
                    "no"]}
METADATA = {"type": "object",
            "patternProperties": {r"^[a-zA-Z0-9-_:. ]{1,255}$": {"type": "string",
                                                                 "maxLength": 255}},
            "additionalProperties": False}
POSITIVE_INT = {"type": ["integer", "string"], "pattern": "^[0-9]*$", "minimum": 1,
                "minLength": 1}
NON_NEGATIVE_INT = {"type": ["integer", "string"], "pattern": "^[0-9]*$", "minimum": 0,
                    "minLength": 1}


def validate(schema: dict[str, Any], body: Any) -> None:
    """Raise BadRequest in Nova's words when ``body`` does not match ``schema``."""
    validator = jsonschema.Draft4Validator(schema, format_checker=jsonschema.FormatChecker())
    error = jsonschema.exceptions.best_match(validator.iter_errors(body))
    if error is None:
        return
    field = "/".join(str(p) for p in error.path) or "body"
    if error.validator == "required":
        raise errors.BadRequest(error.message)
    if error.validator == "additionalProperties":
        raise errors.BadRequest(f"Additional properties are not allowed ({error.message})")
    raise errors.BadRequest(f"Invalid input for field/attribute {field}. Value: "
                            f"{error.instance}. {error.message}")


def truthy(value: Any) -> bool:
    return value is True or str(value).lower() in ("true", "1", "on", "yes")
