"""Valid request bodies for every operation of a service model, built from the model itself: the
control plane's (model/service-2.json, `CONTROL`) and the data plane's
(model/data/service-2.json, `DATA`).

`ModelRequests.valid_body(op)` walks the operation's input shape and puts in each member a value
that satisfies its shape's constraints (enum values, lengths, patterns, ranges): the required
members only, or every member with `full=True` (unions then hold their first member). Members
bound to the request path (the data plane's `{KeyIdentifier}`) are not part of the body:
`labels(op)` gives them valid values and `path(op, labels)` the request path with each label
percent-encoded as botocore does. `constrained_members(op)` lists the members of a full body
with a path into it, for the malformed-request battery (tests/compat/test_malformed.py) to break
one at a time. The fuzz seed generator (fuzz/make_seeds.py) uses both models for the JSON seeds.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

MODELS = Path(__file__).resolve().parents[2] / "model"

# A value satisfying each string shape without enum values of the control plane (the same
# choices as the Rust test crates/api/tests/decode_valid.rs).
CONTROL_SAMPLES = {
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

# The same for the data plane. The key identifier is a key ARN, so that the path label has
# characters to percent-encode (`:` and `/`).
DATA_SAMPLES = {
    "ApplicationCryptogramType": "45A2C8E6D4A1B3F0",
    "As2805RandomKeyMaterial": "0123456789ABCDEF",
    "AuthRequestCryptogramType": "61EDCC708B4C97B4",
    "CardExpiryDateType": "1230",
    "CertificateType": "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUM=",
    "CipherTextType": "33612AB9D6929C2A",
    "CommandMessageDataType": "8424000218000102",
    "DecimalizationTableType": "0123456789012345",
    "EncryptedPinBlockType": "AC17DC148BDA645E",
    "HexEvenLengthBetween16And32": "0123456789ABCDEF",
    "HexLength16Or20Or24": "FFFF9876543210E00001",
    "HexLengthBetween2And4": "00A0",
    "HexLengthBetween2And8": "0123",
    "HexLengthEquals1": "F",
    "HexLengthEquals4": "0001",
    "HexLengthEquals8": "12345678",
    "InitializationVectorType": "0000000000000000",
    "KeyArnOrKeyAliasType": "arn:aws:payment-cryptography:us-east-2:111122223333:key/kwapwa6qaifllw2h",
    "MacType": "ABCD1234",
    "MessageDataType": "31323334",
    "NumberLengthEquals2": "01",
    "PinBlockLengthEquals16": "0123456789ABCDEF",
    "PinOffsetType": "5507",
    "PinValidationDataType": "12345678",
    "PlainTextType": "31323334",
    "PrimaryAccountNumberType": "4111111111111111",
    "ProprietaryAuthenticationDataType": "1234",
    "ServiceCodeType": "101",
    "SessionDerivationDataType": "1234567890123456",
    "SharedInformation": "0102030405060708",
    "SystemTraceAuditNumberType": "123456",
    "Tr31WrappedKeyBlock": "D0112K0TB00E0000B82E3D6A2C6D4B0F2F7C2E0C8A1F1B8E9C2E0D3F4A5B6C7D8E9F0A1B2C3D4E5F",
    "TrackDataType": "3B343031",
    "TransactionAmountType": "000000000100",
    "TransactionDataType": "0000000010000000",
    "ValidationDataType": "123",
    "VerificationValueType": "1234",
}


@dataclass(frozen=True)
class Member:
    """One member of a full request body: where it is and what its shape says."""

    path: tuple[str | int, ...]  # keys and list indexes from the top of the body
    shape_name: str
    required: bool  # required in its parent structure
    shape: dict[str, Any] = field(compare=False, repr=False)

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


class ModelRequests:
    """Valid requests of one service model, and the members to break in them."""

    def __init__(self, path: Path, samples: dict[str, str]):
        self.model = json.loads(path.read_text())
        self.shapes: dict[str, dict[str, Any]] = self.model["shapes"]
        self.operations: list[str] = sorted(self.model["operations"])
        self.samples = samples

    def input_shape(self, op: str) -> str:
        return self.model["operations"][op]["input"]["shape"]

    def value_of(self, shape_name: str, full: bool = False) -> Any:
        """A valid JSON value of a shape."""
        shape = self.shapes[shape_name]
        kind = shape["type"]
        if kind == "structure":
            members = shape["members"]
            if shape.get("union"):
                first = next(iter(members))
                return {first: self.value_of(members[first]["shape"], full)}
            required = set(shape.get("required", []))
            return {
                name: self.value_of(member["shape"], full)
                for name, member in members.items()
                if full or name in required
            }
        if kind == "string":
            return shape["enum"][0] if "enum" in shape else self.samples[shape_name]
        if kind == "integer":
            return shape.get("min", 1)
        if kind == "boolean":
            return True
        if kind == "timestamp":
            return 1698245002.065
        if kind == "list":
            count = 1 if full else shape.get("min", 0)
            return [self.value_of(shape["member"]["shape"], full) for _ in range(count)]
        if kind == "map":
            if not full:
                return {}
            return {self.value_of(shape["key"]["shape"], full): self.value_of(shape["value"]["shape"], full)}
        raise ValueError(f"shape {shape_name} of unknown type {kind}")

    def _body_members(self, op: str) -> dict[str, dict[str, Any]]:
        """The top-level members of `op`'s input that travel in the body (not in the path)."""
        members = self.shapes[self.input_shape(op)]["members"]
        return {name: member for name, member in members.items() if "location" not in member}

    def valid_body(self, op: str, full: bool = False) -> dict[str, Any]:
        required = set(self.shapes[self.input_shape(op)].get("required", []))
        return {
            name: self.value_of(member["shape"], full)
            for name, member in self._body_members(op).items()
            if full or name in required
        }

    def label_members(self, op: str) -> list[Member]:
        """The members bound to labels of the request path (`{KeyIdentifier}`)."""
        shape = self.shapes[self.input_shape(op)]
        required = set(shape.get("required", []))
        return [
            Member((name,), member["shape"], name in required, self.shapes[member["shape"]])
            for name, member in shape["members"].items()
            if member.get("location") == "uri"
        ]

    def labels(self, op: str) -> dict[str, str]:
        """A valid value for each path label of `op`."""
        return {m.path[0]: self.value_of(m.shape_name) for m in self.label_members(op)}

    def http(self, op: str) -> tuple[str, str]:
        """The operation's method and path template (`/keys/{KeyIdentifier}/encrypt`)."""
        binding = self.model["operations"][op]["http"]
        return binding["method"], binding["requestUri"]

    def path(self, op: str, labels: dict[str, str] | None = None) -> str:
        """The request path, labels percent-encoded like botocore (`quote(value, safe='')`)."""
        labels = self.labels(op) if labels is None else labels
        _, template = self.http(op)
        for name, value in labels.items():
            template = template.replace("{" + name + "}", urllib.parse.quote(value, safe=""))
        return template

    def _members(self, shape_name: str, path: tuple[str | int, ...]) -> Iterator[Member]:
        shape = self.shapes[shape_name]
        if shape["type"] == "structure":
            required = set(shape.get("required", []))
            names = list(shape["members"])
            if shape.get("union"):
                names = names[:1]
            for name in names:
                if not path and "location" in shape["members"][name]:
                    continue
                member_shape = shape["members"][name]["shape"]
                yield Member(path + (name,), member_shape, name in required, self.shapes[member_shape])
                yield from self._members(member_shape, path + (name,))
        elif shape["type"] == "list":
            yield from self._members(shape["member"]["shape"], path + (0,))

    def constrained_members(self, op: str) -> list[Member]:
        """Every structure member of the full body of `op`, depth first."""
        return list(self._members(self.input_shape(op), ()))


CONTROL = ModelRequests(MODELS / "service-2.json", CONTROL_SAMPLES)
DATA = ModelRequests(MODELS / "data" / "service-2.json", DATA_SAMPLES)


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
