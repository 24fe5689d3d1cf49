"""Converting a 3CX CRM template (XML) into a partnercrmd template, saying exactly what could not be.

3CX's server-side CRM templates are XML: `<Crm Name Version Country>` with `<Number Prefix MaxLength>`,
`<Parameters>`, `<Authentication Type>` and `<Scenarios>`; each scenario has a `<Request>` (Url,
RequestType, RequestEncoding, Headers, PostValues), `<Rules>` (when an answer counts as a match),
`<Variables>` (paths into the answer) and `<Outputs>` (the contact's fields from the variables).
Placeholders are `[Name]`: a parameter, or what 3CX supplies ([Number], [SearchText], [EntityId],
[CallType], [Duration], [CallStartTimeUTC]…); `[[X].Method(…)]` are C# expressions.

Scenario ids: "" (the number lookup) -> lookup; SearchContacts -> search; ReportCall -> log_call;
CreateContactRecord -> create_contact. Everything else is listed in `notes`, with where it was.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from xml.etree.ElementTree import Element

import yaml
from defusedxml import ElementTree

from partnercrmd.sdk import ConfigError

from .loader import TemplateError, load_text

MAX_XML_BYTES = 1024 * 1024

PARAMETER_TYPES = {"string": "text", "password": "secret", "boolean": "bool", "integer": "int", "list": "choice"}
OUTPUT_FIELDS = {
    "FirstName": "FirstName",
    "LastName": "LastName",
    "CompanyName": "CompanyName",
    "Email": "Email",
    "PhoneBusiness": "BusinessPhone",
    "PhoneBusiness2": "BusinessPhone",
    "PhoneMobile": "MobilePhone",
    "PhoneMobile2": "MobilePhone",
    "PhoneHome": "HomePhone",
    "PhoneHome2": "HomePhone",
    "PhoneOther": "OtherPhone",
    "FaxBusiness": "Fax",
    "FaxHome": "Fax",
    "EntityId": "Id",
    "EntityType": "RecordType",
    "Name": "ContactName",
}
SCENARIOS = {
    "": "lookup",
    "SearchContacts": "search",
    "ReportCall": "log_call",
    "CreateContactRecord": "create_contact",
}
# What 3CX fills in, and the same in a partnercrmd template (per operation).
SUPPLIED = {
    "Number": "number",
    "SearchText": "text",
    "EntityId": "id",
    "CallDirection": "call.direction",
    "Duration": "call.duration_hms",
    "DurationTimespan": "call.duration_hms",
    "CallStartTimeUTC": "call.start_iso",
    "CallEndTimeUTC": "call.end_iso",
    "Subject": "call.subject",
    "FirstName": "contact.first_name",
    "LastName": "contact.last_name",
    "CallType": "call.answered && call.direction || (call.inbound && 'Missed' || 'Notanswered')",
}
NOT_SUPPLIED = {
    "Agent": "the agent's name",
    "AgentEmail": "the agent's email",
    "AgentFirstName": "the agent's first name",
    "AgentLastName": "the agent's last name",
    "CallEstablishedTimeUTC": "when the call was answered",
    "QueueExtension": "the queue",
    "Name": "the caller's display name from the phone system",
}
CSHARP = re.compile(r"\[\[(\w+)\]\.(\w+)\((.*?)\)\]")
PLACEHOLDER = re.compile(r"\[(\w+)\]")


@dataclass
class Conversion:
    template: dict[str, Any]
    notes: list[str] = field(default_factory=list)

    @property
    def yaml_text(self) -> str:
        header = "# Converted from a 3CX CRM template by `partnercrmd template import-3cx`.\n"
        if self.notes:
            header += "# Not converted:\n" + "".join(f"#   - {n}\n" for n in self.notes)
        return header + yaml.safe_dump(self.template, sort_keys=False, allow_unicode=True, width=110)


def snake(name: str) -> str:
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name.strip())
    key = re.sub(r"[^a-z0-9_]", "_", words.lower()).strip("_")
    return key if re.match(r"^[a-z]", key) else f"p_{key}"


class Converter:
    def __init__(self, root: Element, source: str) -> None:
        self.root = root
        self.source = source
        self.notes: list[str] = []
        self.parameters: dict[str, dict[str, Any]] = {}

    def note(self, where: str, what: str) -> None:
        self.notes.append(f"{where}: {what}")

    # --- placeholders --------------------------------------------------------------------------------

    def expression(self, name: str, where: str, operation: str) -> str | None:
        """The JMESPath for one [Name] placeholder, or None (noted) when partnercrmd has no such value."""
        if name in self.parameters:
            return f"settings.{self.parameters[name]['key']}"
        if name == "Number" and operation == "log_call":
            return "call.other_number"
        if name == "Number" and operation == "create_contact":
            return "contact.phone"
        if name in SUPPLIED and self._supplied_in(name, operation):
            return SUPPLIED[name]
        reason = NOT_SUPPLIED.get(name, "not a parameter of the template nor a value partnercrmd supplies")
        self.note(where, f"[{name}] ({reason}) was left empty")
        return None

    @staticmethod
    def _supplied_in(name: str, operation: str) -> bool:
        call_only = name.startswith("Call") or name in ("Duration", "DurationTimespan", "Subject")
        if call_only:
            return operation == "log_call"
        if name in ("FirstName", "LastName"):
            return operation == "create_contact"
        if name == "SearchText":
            return operation == "search"
        return True

    def text(self, value: str, where: str, operation: str) -> str:
        """3CX text with placeholders -> a partnercrmd template string."""

        def csharp(match: re.Match[str]) -> str:
            name, method, args = match.groups()
            inner = self.expression(name, where, operation)
            if inner is None:
                return ""
            if method == "Replace" and args.replace(" ", "") in ('"+","%2B"', '"+","%2b"'):
                return f"{{{{ {inner} }}}}"  # values in addresses are percent-encoded anyway
            if method == "ToString" and name.endswith("TimeUTC"):
                if args.strip().strip('"') not in ("yyyy-MM-ddTHH:mm:ssZ", "o", "s", "u"):
                    self.note(where, f"the date format {args} of [{name}] became ISO 8601 (2026-11-25T14:03:00Z)")
                return f"{{{{ {inner} }}}}"
            if method == "Replace":
                parts = [p.strip().strip('"') for p in args.split(",")]
                if len(parts) == 2:
                    return f"{{{{ replace({inner}, '{parts[0]}', '{parts[1]}') }}}}"
            self.note(where, f"the C# expression [[{name}].{method}({args})] is not supported and was left empty")
            return ""

        value = CSHARP.sub(csharp, value)

        def simple(match: re.Match[str]) -> str:
            inner = self.expression(match.group(1), where, operation)
            return f"{{{{ {inner} }}}}" if inner else ""

        return PLACEHOLDER.sub(simple, value)

    def post_value(self, element: Element, where: str, operation: str) -> Any:
        """A PostValues Value; Type="Integer" (or Number) keeps numbers numbers in a JSON body."""
        text = self.text(element.text or "", where, operation)
        if element.get("Type", "String").lower() in ("integer", "number", "int"):
            if text.strip().lstrip("-").isdigit():
                return int(text)
            single = re.fullmatch(r"\{\{ (.+) \}\}", text.strip())
            if single:
                return f"{{{{ to_number({single.group(1)}) }}}}"
        return text

    # --- parts ------------------------------------------------------------------------------------------

    def convert_parameters(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for element in self.root.findall("./Parameters/Parameter"):
            name = element.get("Name", "")
            kind = PARAMETER_TYPES.get(element.get("Type", "String").lower())
            where = f"Parameter {name}"
            if kind is None:
                self.note(where, f"type {element.get('Type')} is not supported; taken as text")
                kind = "text"
            parameter: dict[str, Any] = {"key": snake(name), "label": (element.get("Title") or name).rstrip(":")}
            parameter["type"] = kind
            default = element.get("Default")
            if default not in (None, ""):
                assert default is not None
                if kind == "bool":
                    parameter["default"] = default.lower() == "true"
                elif kind == "int" and default.lstrip("-").isdigit():
                    parameter["default"] = int(default)
                else:
                    parameter["default"] = default
            if kind == "choice":
                choices = [c for c in re.split(r"[;,]", element.get("ListValues", "")) if c]
                if choices:
                    parameter["choices"] = choices
                else:
                    parameter["type"] = "text"
                    self.note(where, "a list whose values come from a request (RequestUrl) is taken as text")
            self.parameters[name] = parameter
            out.append(parameter)
        for element in self.root.findall("./Parameters/Parameter"):
            parent = element.get("Parent", "")
            if parent in self.parameters and self.parameters[parent]["type"] == "bool":
                self.parameters[element.get("Name", "")]["when"] = f"settings.{self.parameters[parent]['key']}"
        return out

    def convert_auth(self) -> dict[str, Any]:
        element = self.root.find("./Authentication")
        kind = (element.get("Type", "No") if element is not None else "No").lower()
        value = (element.findtext("Value") or "") if element is not None else ""
        if kind in ("no", "none", ""):
            return {"type": "none"}
        if kind == "basic":
            user, _, password = value.partition(":")
            return {
                "type": "basic",
                "username": self.text(user, "Authentication", "auth"),
                "password": self.text(password, "Authentication", "auth"),
            }
        self.note(
            "Authentication",
            f"type {element.get('Type') if element is not None else kind} cannot be converted; "
            "the template uses none: add the auth section by hand (bearer, api_key or oauth2_*)",
        )
        return {"type": "none"}

    def number_forms(self) -> tuple[list[str], int | None]:
        element = self.root.find("./Number")
        if element is None:
            return ["e164"], None
        prefix = element.get("Prefix", "AsIs")
        forms = {"asis": "e164", "plus": "e164", "remove": "e164_digits"}
        form = forms.get(prefix.lower())
        if form is None:
            self.note("Number", f"Prefix {prefix} is not known; E.164 is used")
            form = "e164"
        length = element.get("MaxLength", "")
        match = PLACEHOLDER.fullmatch(length.strip())
        if match and match.group(1) in self.parameters:
            default = self.parameters[match.group(1)].get("default")
            if isinstance(default, int):
                self.note(
                    "Number", f"MaxLength comes from the parameter {match.group(1)}; its default {default} is used"
                )
                length = str(default)
            else:
                self.note("Number", f"MaxLength from the parameter {match.group(1)} has no default; not used")
                length = ""
        if length.strip().isdigit() and int(length) > 0:
            return ["last"], max(4, min(15, int(length)))
        return [form], None

    def convert_scenario(self, element: Element, bases: list[str]) -> tuple[str, dict[str, Any], str] | None:
        scenario_id = element.get("Id", "")
        where = f"Scenario '{scenario_id}'"
        operation = SCENARIOS.get(scenario_id)
        if operation is None:
            self.note(where, "partnercrmd has no such operation; not converted")
            return None
        if element.get("Type", "REST").upper() != "REST":
            self.note(where, f"type {element.get('Type')} is not REST; not converted")
            return None
        request = element.find("./Request")
        if request is None:
            self.note(where, "has no Request; not converted")
            return None
        url = self.text(request.get("Url", ""), where, operation)
        bases.append(url)
        spec: dict[str, Any] = {"method": request.get("RequestType", "Get").upper(), "url": url}
        if request.get("SkipIf"):
            self.note(where, f"SkipIf {request.get('SkipIf')!r} is not converted")
        headers = {
            v.get("Key", ""): self.text(v.text or "", where, operation) for v in request.findall("./Headers/Value")
        }
        if headers:
            spec["headers"] = headers
        values = {v.get("Key", ""): self.post_value(v, where, operation) for v in request.findall("./PostValues/Value")}
        if values:
            encoding = request.get("RequestEncoding", "UrlEncoded").lower()
            spec["json" if encoding == "json" else "form"] = values
        if request.get("ResponseType", "Json").lower() != "json" and operation in ("lookup", "search"):
            self.note(where, f"ResponseType {request.get('ResponseType')} is not JSON; not converted")
            return None
        op: dict[str, Any] = {"request": spec}
        if operation == "lookup":
            forms, last = self.number_forms()
            op = {"forms": forms, **({"last_digits": last} if last else {}), **op}
        pop_url = ""
        if operation in ("lookup", "search", "create_contact"):
            response, pop_url = self.convert_outputs(element, where)
            if response is None:
                return None
            op["response"] = response
        return operation, op, pop_url

    def convert_outputs(self, element: Element, where: str) -> tuple[dict[str, Any] | None, str]:
        variables: dict[str, str] = {}
        for variable in element.findall("./Variables/Variable"):
            name = variable.get("Name", "")
            variables[name] = variable.get("Path", "")
            filter_element = variable.find("./Filter")
            if filter_element is not None and (len(filter_element) or (filter_element.text or "").strip()):
                self.note(f"{where} Variable {name}", "its Filter is not converted")
        paths = [p for p in variables.values() if p]
        rules = [r.text or "" for r in element.findall("./Rules/Rule")]
        prefix = _common_prefix([p.split(".") for p in paths + rules])
        cut = len(prefix)
        fields: dict[str, Any] = {}
        pop_url = ""
        for output in element.findall("./Outputs/Output"):
            kind, value = output.get("Type", ""), output.get("Value", "")
            if kind == "ContactUrl":
                pop_url = value
                continue
            target = OUTPUT_FIELDS.get(kind)
            if target is None:
                self.note(f"{where} Output {kind}", "partnercrmd has no such field; not converted")
                continue
            expression = _output_expression(value, variables, cut)
            if expression is None:
                self.note(f"{where} Output {kind}", f"value {value!r} names an unknown variable; not converted")
                continue
            if target in fields and target not in ("Id", "RecordType", "ContactName", "FirstName", "LastName"):
                fields[target] = f"[{_unlist(fields[target])}, {expression}][]"
            else:
                fields[target] = expression
        if "Id" not in fields:
            self.note(where, "has no EntityId output, which partnercrmd needs to open the record; not converted")
            return None, ""
        response: dict[str, Any] = {}
        if prefix:
            response["records"] = ".".join(prefix)
        response["fields"] = fields
        id_output = next(
            (o.get("Value", "") for o in element.findall("./Outputs/Output") if o.get("Type") == "EntityId"), ""
        )
        if pop_url and id_output:
            pop_url = pop_url.replace(id_output, "[EntityId]")
        return response, pop_url


def _unlist(expression: str) -> str:
    return expression[1:-3] if expression.startswith("[") and expression.endswith("][]") else expression


def _common_prefix(split_paths: list[list[str]]) -> list[str]:
    if not split_paths:
        return []
    prefix: list[str] = []
    for parts in zip(*[p[:-1] for p in split_paths], strict=False):
        if len(set(parts)) != 1:
            break
        prefix.append(parts[0])
    return prefix


def _quoted(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) else '"' + name.replace('"', '\\"') + '"'


def _output_expression(value: str, variables: dict[str, str], cut: int) -> str | None:
    """An Output's Value ("[FirstName]", "Contacts", "[FirstName] [LastName]") as JMESPath over one record."""
    pieces: list[str] = []
    position = 0
    for match in PLACEHOLDER.finditer(value):
        literal = value[position : match.start()]
        if literal:
            pieces.append("'" + literal.replace("'", "\\'") + "'")
        path = variables.get(match.group(1))
        if path is None:
            return None
        pieces.append(".".join(_quoted(p) for p in path.split(".")[cut:]) or "@")
        position = match.end()
    if value[position:]:
        pieces.append("'" + value[position:].replace("'", "\\'") + "'")
    if not pieces:
        return None
    if len(pieces) == 1:
        return pieces[0]
    return "join('', [" + ", ".join(f"to_string({p} || '')" for p in pieces) + "])"


def convert(xml_text: str, source: str) -> Conversion:
    """The partnercrmd template for a 3CX CRM template, and the notes on what was not converted."""
    try:
        root = ElementTree.fromstring(xml_text)
    except ElementTree.ParseError as exc:
        raise ConfigError(f"{source} is not XML: {exc}") from None
    except Exception as exc:  # noqa: BLE001  (defusedxml refuses entities and DTDs with its own errors)
        raise ConfigError(f"{source} was refused: {type(exc).__name__}") from None
    if root.tag != "Crm":
        raise ConfigError(f"{source} is not a 3CX CRM template (its root element is <{root.tag}>, not <Crm>).")
    converter = Converter(root, source)
    name = root.get("Name") or Path(source).stem
    version = root.get("Version", "1")
    parameters = converter.convert_parameters()
    auth = converter.convert_auth()
    operations: dict[str, Any] = {}
    urls: list[str] = []
    pop_url = ""
    for element in root.findall("./Scenarios/Scenario"):
        converted = converter.convert_scenario(element, urls)
        if converted is None:
            continue
        operation, op, found_pop = converted
        if operation in operations:
            converter.note(f"Scenario '{element.get('Id', '')}'", "a second scenario for the same operation is ignored")
            continue
        operations[operation] = op
        pop_url = pop_url or found_pop
    if pop_url:
        operations["pop"] = {"view": converter.text(pop_url, "Output ContactUrl", "pop")}
    if not operations:
        raise ConfigError(f"{source}: no scenario could be converted: " + "; ".join(converter.notes))
    base = _base_of(urls)
    for op in operations.values():
        if "request" in op and base and op["request"]["url"].startswith(base):
            op["request"]["url"] = op["request"]["url"][len(base) :] or "/"
    template: dict[str, Any] = {
        "format": 1,
        "id": re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")[:40] or "imported",
        "name": name,
        "version": version if re.fullmatch(r"\d+(\.\d+){0,3}", version) else "1",
        "description": f"Converted from the 3CX CRM template '{name}'.",
        "parameters": parameters,
        "base_url": base,
        "auth": auth,
        "operations": operations,
    }
    if not re.match(r"^[a-z]", template["id"]):
        template["id"] = "t-" + template["id"]
    result = Conversion(template, converter.notes)
    try:
        load_text(result.yaml_text, f"{source} (converted)")
    except TemplateError as exc:
        raise ConfigError("The converted template is not valid: " + "; ".join(exc.problems[:5])) from None
    return result


def _base_of(urls: list[str]) -> str:
    """scheme://host[:port] of the first absolute URL (placeholders in the host allowed), or a leading
    setting that holds the server's address ("[ServerUrl]/api/…")."""
    for url in urls:
        leading = re.match(r"^(\{\{ settings\.\w+ \}\})", url)
        if leading:
            return leading.group(1)
        match = re.match(r"^(https?://[^/?#]+)", url)
        if match:
            return match.group(1)
    parts = urlsplit(urls[0]) if urls else None
    return f"{parts.scheme}://{parts.netloc}" if parts and parts.netloc else ""


def convert_file(path: Path) -> Conversion:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path} cannot be read ({exc.strerror or exc}).") from None
    if len(raw) > MAX_XML_BYTES:
        raise ConfigError(f"{path} is larger than {MAX_XML_BYTES // 1024} KB; not a 3CX template.")
    return convert(raw.decode("utf-8-sig", "replace"), str(path))
