"""The OpenAPI 3.1 document of /api/v1, built from the route table so it cannot drift from the routes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .. import PRODUCT_NAME, __version__
from .params import Route


def _obj(required: Sequence[str], **props: Any) -> dict[str, Any]:
    return {"type": "object", "required": list(required), "properties": props}


STRING: dict[str, Any] = {"type": "string"}
INTEGER: dict[str, Any] = {"type": "integer"}
BOOLEAN: dict[str, Any] = {"type": "boolean"}


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _array(item: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": item}


CALL_CONTACT = _obj(
    ["Id", "DialString", "DisplayTel", "DisplayName", "Type", "InternalContactType"],
    Id=STRING,
    DialString=STRING,
    DisplayTel=STRING,
    DisplayName=STRING,
    Type={"type": "string", "enum": ["External", "Internal"]},
    InternalContactType=STRING,
    E164=STRING,
    Department=STRING,
)
EVENT_SCHEMAS: dict[str, dict[str, Any]] = {
    "CallContact": CALL_CONTACT,
    "Call": _obj(
        [
            "Id",
            "UniqueId",
            "StartTimeUtc",
            "Direction",
            "CallState",
            "CallActions",
            "Completed",
            "Participants",
            "CallerContact",
            "CalledContact",
        ],
        Id=STRING,
        UniqueId=STRING,
        StartTimeUtc=STRING,
        Direction={"type": "string", "enum": ["Inbound", "Outbound"]},
        CallState=STRING,
        CallActions=STRING,
        Completed=BOOLEAN,
        Participants=_array({}),
        CallerContact=_ref("CallContact"),
        CalledContact=_ref("CallContact"),
        DurationSeconds=INTEGER,
    ),
    "CallHistoryEntry": _obj(
        [
            "Id",
            "StartTimeUtc",
            "CallState",
            "Duration",
            "IsAnswered",
            "Direction",
            "IsExternal",
            "CallerContact",
            "CalledContact",
            "Contact",
            "Tel",
            "Name",
            "Completed",
        ],
        Id=STRING,
        StartTimeUtc=STRING,
        CallState={"type": "string", "enum": ["Ended", "Missed"]},
        Duration={**STRING, "description": "HH:MM:SS"},
        IsAnswered=BOOLEAN,
        Direction={"type": "string", "enum": ["Inbound", "Outbound"]},
        IsExternal=BOOLEAN,
        CallerContact=_ref("CallContact"),
        CalledContact=_ref("CallContact"),
        Contact=_ref("CallContact"),
        Tel=STRING,
        Name=STRING,
        Completed=BOOLEAN,
    ),
    "InitialEvent": _obj(
        ["EventType", "Payload"],
        EventType={"const": "Initial"},
        Payload=_obj(
            ["ServerTime", "Calls", "Version"],
            ServerTime=STRING,
            Calls=_array(_ref("Call")),
            Version=_ref("Version"),
            AddressBooks=INTEGER,
        ),
    ),
    "CallsChangedEvent": _obj(
        ["EventType", "Payload"],
        EventType={"const": "CallsChanged"},
        Payload=_obj(["Calls"], Calls=_array(_ref("Call"))),
    ),
    "CallHistoryChangedEvent": _obj(
        ["EventType", "CallHistory", "Missed"],
        EventType={"const": "CallHistoryChanged"},
        CallHistory=_array(_ref("CallHistoryEntry")),
        Missed=_array(_ref("CallHistoryEntry")),
    ),
}
"""Messages of the event WebSocket (not a route's answer: documented here for clients and kept true by tests)."""

SCHEMAS: dict[str, dict[str, Any]] = {
    "Error": _obj(["Message", "Code"], Message=STRING, Code=STRING),
    "Version": _obj(
        ["ProductName", "ProductVersion", "Licenses"],
        ProductName=STRING,
        ProductVersion=STRING,
        Licenses=_array(
            _obj(
                ["Key", "Name", "Value"],
                Key=STRING,
                Name=STRING,
                Value={**INTEGER, "description": "1 where the entry grants use, 0 where it does not."},
                Description=STRING,
                ExpiresAt=STRING,
            )
        ),
    ),
    "Ping": _obj(["Id"], Id=STRING),
    "Field": _obj(
        ["Name", "Value", "WellKnownName", "DescriptorId", "Type", "Ordinal"],
        Name=STRING,
        Value=STRING,
        WellKnownName={
            "type": "string",
            "enum": [
                "ContactName",
                "FirstName",
                "LastName",
                "CompanyName",
                "JobTitle",
                "Email",
                "BusinessPhone",
                "MobilePhone",
                "HomePhone",
                "OtherPhone",
                "Fax",
                "Address",
                "Notes",
                "Url",
                "Picture",
                "Custom",
            ],
        },
        DescriptorId=STRING,
        Type=STRING,
        Ordinal=INTEGER,
    ),
    "Action": _obj(
        ["UniqueId", "ActionId", "IsMultiple", "UseDefaultImage", "DisplayText", "SpecialKind"],
        UniqueId=STRING,
        ActionId=STRING,
        IsMultiple=BOOLEAN,
        UseDefaultImage=BOOLEAN,
        DisplayText=STRING,
        SpecialKind={"type": "string", "enum": ["Open", "OpenInEditMode", "LogActivity", "ShowActivities"]},
        Number=STRING,
        Icon=_obj(["MimeType", "Buffer64"], MimeType=STRING, Buffer64=STRING),
    ),
    "Activity": _obj(
        ["Subject", "Body", "Direction", "StartTimeUtc", "DurationSeconds"],
        Subject=STRING,
        Body=STRING,
        Direction={"type": "string", "enum": ["Inbound", "Outbound"]},
        StartTimeUtc=STRING,
        DurationSeconds=INTEGER,
    ),
    "ContactRecord": _obj(
        ["UniqueId", "RecordType", "DisplayText", "Fields", "Actions"],
        UniqueId=STRING,
        RecordType=STRING,
        DisplayText=STRING,
        Fields=_array(_ref("Field")),
        Actions=_array(_ref("Action")),
        Activities=_array(_ref("Activity")),
    ),
    "AddinCollection": _obj(
        ["AddinId", "AddinName", "Records", "ExceptionText"],
        AddinId=STRING,
        AddinName=STRING,
        Records=_array(_ref("ContactRecord")),
        ExceptionText=STRING,
    ),
    "AddressBook": _obj(
        [
            "Priority",
            "CrmAddinTypeId",
            "AddinId",
            "Cached",
            "Enabled",
            "Name",
            "CacheFrequencyMinutes",
            "IsPersistent",
            "Description",
            "HasModifyFeature",
            "HasCursorFeature",
            "HasSearchFeature",
            "HasActivityActionFeatureCreate",
            "HasActivityActionFeatureShow",
            "HasActionFeatureShow",
            "ShowActivityOnCall",
            "CreateActivityOnCallEnd",
            "AutoPopOption",
            "Type",
        ],
        Priority=INTEGER,
        CrmAddinTypeId=STRING,
        AddinId=STRING,
        Cached=BOOLEAN,
        Enabled=BOOLEAN,
        Name=STRING,
        CacheFrequencyMinutes=INTEGER,
        IsPersistent=BOOLEAN,
        Description=STRING,
        HasModifyFeature=BOOLEAN,
        HasCursorFeature=BOOLEAN,
        HasSearchFeature=BOOLEAN,
        HasActivityActionFeatureCreate=BOOLEAN,
        HasActivityActionFeatureShow=BOOLEAN,
        HasActionFeatureShow=BOOLEAN,
        ShowActivityOnCall=BOOLEAN,
        CreateActivityOnCallEnd=BOOLEAN,
        AutoPopOption={"type": "string", "enum": ["Never", "OnRinging", "OnAnswer"]},
        LiveCallEvents=BOOLEAN,
        Type=_obj(
            ["AddinTypeId", "TypeFullName", "AssemblyLocation", "IsLegacy", "IsUnrecognized", "IsCloudContacts"],
            AddinTypeId=STRING,
            TypeFullName=STRING,
            AssemblyLocation=STRING,
            IsLegacy=BOOLEAN,
            IsUnrecognized=BOOLEAN,
            IsCloudContacts=BOOLEAN,
            LegacyCursorFeature=BOOLEAN,
            LegacySearchFeature=BOOLEAN,
            LegacyActionFeature=BOOLEAN,
            LegacyActivityFeatureCreate=BOOLEAN,
            LegacyActivityFeatureShow=BOOLEAN,
        ),
        Status={
            "type": "string",
            "enum": ["Ready", "NeedsAttention", "SignInAgain", "Disabled", "Unavailable", "Locked", "NotShipped"],
        },
        StatusReason=STRING,
        ExceptionText=STRING,
    ),
    "RecordType": _obj(
        [
            "RelatedRecordTypes",
            "HasEmail",
            "HasFirstNameLastName",
            "AddinId",
            "HasContactName",
            "HasCompanyName",
            "HasNotes",
            "CanShowInEditMode",
            "CanCreate",
            "UniqueId",
            "RecordTypeId",
            "Name",
            "IsResidential",
        ],
        RelatedRecordTypes=_array(STRING),
        HasEmail=BOOLEAN,
        HasFirstNameLastName=BOOLEAN,
        AddinId=STRING,
        HasContactName=BOOLEAN,
        HasCompanyName=BOOLEAN,
        HasNotes=BOOLEAN,
        CanShowInEditMode=BOOLEAN,
        CanCreate=BOOLEAN,
        UniqueId=STRING,
        RecordTypeId=STRING,
        Name=STRING,
        IsResidential=BOOLEAN,
    ),
    "CallEventResult": _obj(
        ["CallId", "State", "Matches", "Popped", "Logging"],
        CallId=STRING,
        State=STRING,
        Matches=_array(
            _obj(
                ["AddinId", "AddinName", "Records"],
                AddinId=STRING,
                AddinName=STRING,
                Records=_array(_ref("ContactRecord")),
            )
        ),
        Popped=STRING,
        Logging=_array(_obj(["AddinId", "Status", "Key"], AddinId=STRING, Status=STRING, Key=STRING)),
    ),
    "WindowLogin": _obj(["Url", "Opened", "ExpiresInSeconds"], Url=STRING, Opened=BOOLEAN, ExpiresInSeconds=INTEGER),
    "DialTarget": _obj(["Destination", "E164", "DisplayNumber"], Destination=STRING, E164=STRING, DisplayNumber=STRING),
    "ExtensionPairing": _obj(
        ["ApplicationId", "Region", "ProductName"], ApplicationId=STRING, Region=STRING, ProductName=STRING
    ),
    "Integration": _obj(
        ["Id", "Name", "Version", "Classification", "Capabilities", "GuideUrl", "ReleaseNotes"],
        Id=STRING,
        Name=STRING,
        Version=STRING,
        Classification={"type": "string", "enum": ["Standard", "Controlled"]},
        Description=STRING,
        Capabilities=_array(STRING),
        GuideUrl=STRING,
        RecordTypes=_array(STRING),
        Addin={"type": ["object", "null"]},
        ReleaseNotes=_array(_obj(["Version", "Date", "Text"], Version=STRING, Date=STRING, Text=STRING)),
    ),
    "LogActivityResult": _obj(
        ["Result", "AddinId"],
        Result={"type": "string", "enum": ["Logged", "AlreadyLogged", "LogCallPage"]},
        AddinId=STRING,
        CallId=STRING,
        ActivityId=STRING,
        Url=STRING,
        Opened=BOOLEAN,
    ),
    "OpenApi": {"type": "object", "required": ["openapi", "paths"]},
    **EVENT_SCHEMAS,
}

ERROR_RESPONSE = {"description": "Error", "content": {"application/json": {"schema": _ref("Error")}}}


def _operation(route: Route) -> dict[str, Any]:
    operation: dict[str, Any] = {"operationId": route.name.replace(".", "_"), "summary": route.summary}
    if route.params:
        body = {
            "type": "object",
            "required": [p.name for p in route.params if p.required],
            "properties": {p.name: p.schema() for p in route.params},
        }
        operation["requestBody"] = {
            "required": any(p.required for p in route.params),
            "content": {"application/x-www-form-urlencoded": {"schema": body}, "application/json": {"schema": body}},
        }
    if route.response is None:
        ok: dict[str, Any] = {"204": {"description": "Done"}}
    else:
        schema = _array(_ref(route.response)) if route.array else _ref(route.response)
        ok = {"200": {"description": "OK", "content": {"application/json": {"schema": schema}}}}
        if route.no_content_too:
            ok["204"] = {"description": "Done"}
    operation["responses"] = {**ok, "4XX": ERROR_RESPONSE, "5XX": ERROR_RESPONSE}
    if route.name not in ("Version", "Register", "openapi.json"):
        operation["security"] = [{"ApplicationId": []}]
    return operation


def openapi_document(
    routes: Sequence[Route], product_name: str = PRODUCT_NAME, server: str = "http://127.0.0.1:10088"
) -> dict[str, Any]:
    """The document; `server` is the address it was asked on, so a client or tool calls the port that answered."""
    paths: dict[str, Any] = {}
    for route in routes:
        paths.setdefault(f"/api/v1/{route.name}", {})[route.method.lower()] = _operation(route)
    paths["/api/v1/events/{ApplicationId}"] = {
        "get": {
            "operationId": "events",
            "summary": "WebSocket of events (Initial, CallsChanged, CallHistoryChanged, AddressBooksChanged, "
            "ActivityLogged…; schemas InitialEvent, CallsChangedEvent, CallHistoryChangedEvent); upgrade required.",
            "parameters": [{"name": "ApplicationId", "in": "path", "required": True, "schema": STRING}],
            "responses": {"101": {"description": "Switching to WebSocket"}, "4XX": ERROR_RESPONSE},
        }
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": f"{product_name} localhost API", "version": __version__},
        "servers": [{"url": server}],
        "paths": paths,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {"ApplicationId": {"type": "apiKey", "in": "header", "name": "ApplicationId"}},
        },
    }
