"""A Tocsin action plugin written in Python, built with componentize-py.

Build: componentize-py -d ../../../wit -w action-plugin componentize app -o python-plugin.wasm
"""

import json

import wit_world
from componentize_py_types import Err
from wit_world.imports import host
from wit_world.imports.types import (
    ActionError_InvalidInput,
    ActionInfo,
    Capabilities,
    Manifest,
)

GREET_INPUT = {
    "type": "object",
    "required": ["name"],
    "properties": {"name": {"type": "string", "minLength": 1}, "shout": {"type": "boolean"}},
    "additionalProperties": False,
}
GREET_OUTPUT = {
    "type": "object",
    "required": ["greeting", "invocation"],
    "properties": {"greeting": {"type": "string"}, "invocation": {"type": "string"}},
}
SUM_INPUT = {
    "type": "object",
    "required": ["values"],
    "properties": {"values": {"type": "array", "items": {"type": "number"}}},
}
SUM_OUTPUT = {"type": "object", "required": ["sum"], "properties": {"sum": {"type": "number"}}}


class WitWorld(wit_world.WitWorld):
    def describe(self) -> Manifest:
        return Manifest(
            name="pygreeter",
            version="0.1.0",
            description="Greets people and adds numbers, from Python",
            actions=[
                ActionInfo("greet", "Greet someone by name", json.dumps(GREET_INPUT), json.dumps(GREET_OUTPUT)),
                ActionInfo("sum", "Add numbers", json.dumps(SUM_INPUT), json.dumps(SUM_OUTPUT)),
            ],
            config_schema=json.dumps({"type": "object", "properties": {"greeting": {"type": "string"}}}),
            requests=Capabilities(http=[], tcp=[], secrets=[]),
        )

    def invoke(self, ctx, action: str, input: str) -> str:
        data = json.loads(input)
        if action == "greet":
            config = json.loads(host.config())
            greeting = f"{config.get('greeting', 'Hello')}, {data['name']}!"
            if data.get("shout"):
                greeting = greeting.upper()
            host.log(host.Level.INFO, f"greeted {data['name']}")
            return json.dumps({"greeting": greeting, "invocation": ctx.invocation_id})
        if action == "sum":
            return json.dumps({"sum": sum(data["values"])})
        raise Err(ActionError_InvalidInput(f"unknown action {action}"))
