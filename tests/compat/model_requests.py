"""Valid request bodies for every operation, built from the service model (model/service-2.json).

`valid_body(op)` walks the operation's input shape and puts in each member a value that satisfies
its shape's constraints (enum values, lengths, patterns, ranges): the required members only, or
every member with `full=True` (unions then hold their first member). `constrained_members(op)`
lists the members of a full body with a path into it, for the malformed-request battery to
break one at a time. The fuzz seed generator (fuzz/make_seeds.py) uses it for the JSON seeds.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

MODEL = json.loads((Path(__file__).resolve().parents[2] / "model" / "service-2.json").read_text())
SHAPES: dict[str, dict[str, Any]] = MODEL["shapes"]
OPERATIONS: list[str] = sorted(MODEL["operations"])

# A value satisfying each string shape without enum values (the same choices as the Rust test
# crates/api/tests/decode_valid.rs).
SAMPLE_STRINGS = {
    "AliasName": "alias/payments-kek",
    "KeyArnOrKeyAliasType": "alias/payments-kek",
    "KeyArn": "arn:aws:payment-cryptography:us-east-2:111122223333:key/kwapwa6qaifllw2h",
    "ResourceArn": "arn:aws:payment-cryptography:us-east-2:111122223333:key/kwapwa6qaifllw2h",
    "CertificateType": "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUM=",
    "CertificateSubjectTypeCommonNameString": "paycrypt test",
    "CertificateSubjectTypeOrganizationUnitString": "Payments",
    "CertificateSubjectTypeOrganizationString": "Example Corp",
    "CertificateSubjectTypeCityString": "Seattle",
    "CertificateSubjectTypeCountryString": "US",
    "CertificateSubjectTypeStateOrProvinceString": "Washington",
    "CertificateSubjectTypeEmailAddressString": "ops@example.com",
    "EvenHexLengthBetween16And32": "0123456789ABCDEF",
    "ExportTokenId": "export-token-tqkbkc2jhbqanqvk",
    "ImportTokenId": "import-token-qgmafpaa7nr7yuhd",
    "HexLength20Or24": "FFFF9876543210E00001",
    "KeyVersion": "00",
    "MpaRequesterComment": "rotation ticket 42",
    "MpaTeamArn": "arn:aws:mpa:us-east-1:111122223333:approval-team/payments-team",
    "NextToken": "eyJvZmZzZXQiOjUwfQ",
    "OptionalBlockId": "KP",
    "OptionalBlockValue": "10C8A1",
    "Region": "us-west-2",
    "ResourcePolicy": '{"Version":"2012-10-17","Statement":[]}',
    "SharedInformation": "0102030405060708",
    "String": "text",
    "TagKey": "team",
    "TagValue": "payments",
    "Tr31WrappedKeyBlock": "D0112K0TB00E0000B82E3D6A2C6D4B0F2F7C2E0C8A1F1B8E9C2E0D3F4A5B6C7D8E9F0A1B2C3D4E5F",
    "Tr34WrappedKeyBlock": "308205A106092A864886F70D010702A08205923082058E020101",
    "WrappedKeyCryptogram": "0123456789ABCDEF0123456789ABCDEF",
}


def input_shape(op: str) -> str:
    return MODEL["operations"][op]["input"]["shape"]


def value_of(shape_name: str, full: bool = False) -> Any:
    """A valid JSON value of a shape."""
    shape = SHAPES[shape_name]
    kind = shape["type"]
    if kind == "structure":
        members = shape["members"]
        if shape.get("union"):
            first = next(iter(members))
            return {first: value_of(members[first]["shape"], full)}
        required = set(shape.get("required", []))
        return {
            name: value_of(member["shape"], full)
            for name, member in members.items()
            if full or name in required
        }
    if kind == "string":
        return shape["enum"][0] if "enum" in shape else SAMPLE_STRINGS[shape_name]
    if kind == "integer":
        return shape.get("min", 1)
    if kind == "boolean":
        return True
    if kind == "timestamp":
        return 1698245002.065
    if kind == "list":
        count = 1 if full else shape.get("min", 0)
        return [value_of(shape["member"]["shape"], full) for _ in range(count)]
    if kind == "map":
        if not full:
            return {}
        return {value_of(shape["key"]["shape"], full): value_of(shape["value"]["shape"], full)}
    raise ValueError(f"shape {shape_name} of unknown type {kind}")


def valid_body(op: str, full: bool = False) -> dict[str, Any]:
    return value_of(input_shape(op), full)


@dataclass(frozen=True)
class Member:
    """One member of a full request body: where it is and what its shape says."""

    path: tuple[str | int, ...]  # keys and list indexes from the top of the body
    shape_name: str
    required: bool  # required in its parent structure

    @property
    def shape(self) -> dict[str, Any]:
        return SHAPES[self.shape_name]

    @property
    def wire_path(self) -> str:
        """AWS's name for it in validation messages: lower-case first letters, lists as `.N.member`."""
        parts = []
        for part in self.path:
            if isinstance(part, int):
                parts.append(f"{part + 1}.member")
            else:
                parts.append(part[:1].lower() + part[1:])
        return ".".join(parts)


def _members(shape_name: str, path: tuple[str | int, ...]) -> Iterator[Member]:
    shape = SHAPES[shape_name]
    if shape["type"] == "structure":
        required = set(shape.get("required", []))
        names = list(shape["members"])
        if shape.get("union"):
            names = names[:1]
        for name in names:
            member_shape = shape["members"][name]["shape"]
            yield Member(path + (name,), member_shape, name in required)
            yield from _members(member_shape, path + (name,))
    elif shape["type"] == "list":
        yield from _members(shape["member"]["shape"], path + (0,))


def constrained_members(op: str) -> list[Member]:
    """Every structure member of the full body of `op`, depth first."""
    return list(_members(input_shape(op), ()))


def set_at(body: Any, path: tuple[str | int, ...], value: Any) -> None:
    for part in path[:-1]:
        body = body[part]
    body[path[-1]] = value


def delete_at(body: Any, path: tuple[str | int, ...]) -> None:
    for part in path[:-1]:
        body = body[part]
    del body[path[-1]]


def pattern_breaker(shape: dict[str, Any]) -> str | None:
    """A string of allowed length that does not match the shape's pattern, if one is easy to find."""
    pattern = shape.get("pattern")
    if pattern is None:
        return None
    low, high = shape.get("min", 1), shape.get("max", 64)
    for candidate_char in ("<", "~", " ", "!", "\u00e9", "\n"):
        for length in (max(low, 1), min(high, max(low, 16))):
            candidate = candidate_char * length
            if low <= len(candidate) <= high and not re.fullmatch(pattern, candidate):
                return candidate
    return None
