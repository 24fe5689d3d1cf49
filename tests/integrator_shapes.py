"""The shapes of the Integrator localhost API's answers and events, written from ../shared/design/API.md.

A shape maps each key to what its value must be: a Python type (or a tuple of types), another shape (a dict),
`[shape]` for a list of such values, or `ANY` where the wire format does not say. Keys ending in `?` may be
absent. `problems(value, shape)` lists every way a value differs (empty: it fits). Extra keys are allowed: the
format lets a server add fields, and a client ignores what it does not know.
"""

from __future__ import annotations

from typing import Any

ANY = object()
"""Any value (the wire format names the key but not its type)."""
TEXT = str
NUMBER = (int, float)
OPTIONAL_TEXT = (str, type(None))

ERROR = {"Message": TEXT, "Code": TEXT}

LICENCE = {"Key": TEXT, "Name": TEXT, "Value": NUMBER, "ExpiresAt?": OPTIONAL_TEXT}
VERSION = {"ProductName": TEXT, "ProductVersion": TEXT, "Licenses": [LICENCE]}

FIELD = {"Name": TEXT, "Value": TEXT, "WellKnownName": TEXT, "DescriptorId": TEXT, "Type": TEXT, "Ordinal": int}
ICON = {"MimeType": TEXT, "Buffer64": TEXT}
ACTION = {
    "UniqueId": TEXT,
    "ActionId": TEXT,
    "IsMultiple": bool,
    "UseDefaultImage": bool,
    "DisplayText": TEXT,
    "SpecialKind": TEXT,
    "Number?": ANY,
    "Icon?": (dict, type(None)),
}
ACTIVITY = {"Subject": TEXT, "Body": TEXT, "Direction": TEXT, "StartTimeUtc": OPTIONAL_TEXT, "DurationSeconds": NUMBER}
CONTACT_RECORD = {
    "UniqueId": TEXT,
    "RecordType": TEXT,
    "DisplayText": TEXT,
    "Fields": [FIELD],
    "Actions": [ACTION],
    "Activities?": [ACTIVITY],
}
ADDIN_COLLECTION = {"AddinId": TEXT, "AddinName": TEXT, "Records": [CONTACT_RECORD], "ExceptionText": OPTIONAL_TEXT}

ADDRESS_BOOK_TYPE = {
    "AddinTypeId": TEXT,
    "TypeFullName": TEXT,
    "AssemblyLocation": ANY,
    "IsLegacy": bool,
    "IsUnrecognized": bool,
    "IsCloudContacts": bool,
}
ADDRESS_BOOK = {
    "Priority": NUMBER,
    "CrmAddinTypeId": TEXT,
    "AddinId": TEXT,
    "Cached": bool,
    "Enabled": bool,
    "Name": TEXT,
    "CacheFrequencyMinutes": NUMBER,
    "IsPersistent": bool,
    "Description": OPTIONAL_TEXT,
    "HasModifyFeature": bool,
    "HasCursorFeature": bool,
    "HasSearchFeature": bool,
    "HasActivityActionFeatureCreate": bool,
    "HasActivityActionFeatureShow": bool,
    "HasActionFeatureShow": bool,
    "ShowActivityOnCall": bool,
    "CreateActivityOnCallEnd": bool,
    "AutoPopOption": ANY,
    "Type": ADDRESS_BOOK_TYPE,
}
RECORD_TYPE = {
    "RelatedRecordTypes": ANY,
    "HasEmail": bool,
    "HasFirstNameLastName": bool,
    "AddinId": TEXT,
    "HasContactName": bool,
    "HasCompanyName": bool,
    "HasNotes": bool,
    "CanShowInEditMode": bool,
    "CanCreate": bool,
    "UniqueId": TEXT,
    "RecordTypeId": TEXT,
    "Name": TEXT,
    "IsResidential": bool,
}

CALL_CONTACT = {
    "Id": ANY,
    "DialString": ANY,
    "DisplayTel": ANY,
    "DisplayName": ANY,
    "Type": ANY,
    "InternalContactType": ANY,
    "E164?": ANY,
    "Department?": ANY,
}
CALL = {
    "Id": ANY,
    "UniqueId": ANY,
    "StartTimeUtc": ANY,
    "Direction": ANY,
    "CallState": ANY,
    "CallActions": ANY,
    "Completed": bool,
    "Participants": list,
    "CallerContact": CALL_CONTACT,
    "CalledContact": CALL_CONTACT,
}
CALL_HISTORY_ENTRY = {
    "Id": ANY,
    "StartTimeUtc": ANY,
    "CallState": ANY,
    "Duration": ANY,
    "IsAnswered": bool,
    "Direction": ANY,
    "IsExternal": bool,
    "CallerContact": CALL_CONTACT,
    "CalledContact": CALL_CONTACT,
    "Contact": ANY,
    "Tel": ANY,
    "Name": ANY,
    "Completed": bool,
}

INITIAL = {"EventType": TEXT, "Payload": {"ServerTime": TEXT, "Calls": [CALL], "Version": VERSION}}
CALLS_CHANGED = {"EventType": TEXT, "Payload": {"Calls": [CALL]}}
CALL_HISTORY_CHANGED = {"EventType": TEXT, "CallHistory": [CALL_HISTORY_ENTRY], "Missed": [CALL_HISTORY_ENTRY]}
MAKE_CALL_REQUEST = {
    "EventType": TEXT,
    "Destination": TEXT,
    "E164": OPTIONAL_TEXT,
    "DisplayNumber": TEXT,
    "Source": TEXT,
}
ACTIVITY_LOGGED = {"EventType": TEXT, "CallId": TEXT, "AddinId": TEXT}


def _describe(expected: Any) -> str:
    if isinstance(expected, tuple):
        return " or ".join(t.__name__ for t in expected)
    return getattr(expected, "__name__", repr(expected))


def problems(value: Any, shape: Any, where: str = "$") -> list[str]:
    """Every way `value` differs from `shape` (see the module docstring), each as 'path: what'."""
    if shape is ANY:
        return []
    if isinstance(shape, dict):
        if not isinstance(value, dict):
            return [f"{where}: expected an object, got {value!r:.80}"]
        found: list[str] = []
        for key, inner in shape.items():
            name = key.rstrip("?")
            if name not in value:
                if not key.endswith("?"):
                    found.append(f"{where}.{name}: missing")
                continue
            found += problems(value[name], inner, f"{where}.{name}")
        return found
    if isinstance(shape, list):
        if not isinstance(value, list):
            return [f"{where}: expected a list, got {value!r:.80}"]
        return [p for i, item in enumerate(value) for p in problems(item, shape[0], f"{where}[{i}]")]
    if shape is bool or shape == (bool,):
        return [] if isinstance(value, bool) else [f"{where}: expected a boolean, got {value!r:.80}"]
    # A boolean is an int in Python, never a number in JSON.
    if isinstance(value, bool) or not isinstance(value, shape):
        return [f"{where}: expected {_describe(shape)}, got {value!r:.80}"]
    return []
