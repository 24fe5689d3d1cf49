"""Named presets: the contact tables of CRMs that keep their data in MariaDB or MySQL (SuiteCRM, vtiger).

A preset is a set of the add-in's own settings (queries and column names) written for one CRM's
published schema; the user gives the database connection and, for popping, the CRM's address
(`crm_url`). Any setting the user changes from its default wins over the preset's.

Sources of the schemas (each preset's queries use only the tables and columns named there):

- SuiteCRM 7: `include/SugarObjects/templates/basic/vardefs.php` (id, deleted, dates, description),
  `include/SugarObjects/templates/person/vardefs.php` (first_name, last_name, phone_home,
  phone_mobile, phone_work, phone_other, phone_fax), `metadata/accounts_contactsMetaData.php`,
  `metadata/email_addressesMetaData.php` (email_addresses, email_addr_bean_rel) and
  `modules/Calls/vardefs.php` (name, date_start, date_end, duration_hours, duration_minutes,
  parent_type, parent_id, status, direction) in https://github.com/salesagility/SuiteCRM.
- vtiger CRM 7/8: `schema/DatabaseSchema.xml` (vtiger_crmentity with its `deleted` flag,
  vtiger_contactdetails, vtiger_contactsubdetails, vtiger_account) in
  https://github.com/vtiger-crm/vtigercrm (mirror of code.vtiger.com/vtiger/vtigercrm).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

NO_PRESET = "none"
SUITECRM = "suitecrm"
VTIGER = "vtiger"


@dataclass(frozen=True)
class Preset:
    """One CRM's contact tables as the add-in's settings."""

    name: str
    title: str
    settings: Mapping[str, str]
    record_path: str
    """Appended to `crm_url` for the contact's page, with {id}."""
    edit_path: str
    sources: tuple[str, ...] = field(default=())


def _digits(column: str) -> str:
    return f"REGEXP_REPLACE({column}, '[^0-9]', '') LIKE :pattern"


_SUITECRM_SELECT = (
    "SELECT c.id, c.first_name, c.last_name, c.title, c.department, c.description, "
    "c.phone_work, c.phone_mobile, c.phone_home, c.phone_other, c.phone_fax, "
    "(SELECT a.name FROM accounts_contacts ac JOIN accounts a ON a.id = ac.account_id AND a.deleted = 0 "
    "WHERE ac.contact_id = c.id AND ac.deleted = 0 ORDER BY ac.date_modified DESC LIMIT 1) AS account_name, "
    "(SELECT ea.email_address FROM email_addr_bean_rel r "
    "JOIN email_addresses ea ON ea.id = r.email_address_id AND ea.deleted = 0 "
    "WHERE r.bean_id = c.id AND r.bean_module = 'Contacts' AND r.deleted = 0 "
    "ORDER BY r.primary_address DESC LIMIT 1) AS email_address "
    "FROM contacts c WHERE c.deleted = 0"
)
_SUITECRM_PHONES = ("phone_work", "phone_mobile", "phone_home", "phone_other", "phone_fax")

SUITECRM_PRESET = Preset(
    name=SUITECRM,
    title="SuiteCRM 7 (contacts)",
    settings={
        "id_column": "id",
        "first_name_column": "first_name",
        "last_name_column": "last_name",
        "company_column": "account_name",
        "email_column": "email_address",
        "notes_column": "description",
        "phone_columns": "phone_work:business, phone_mobile:mobile, phone_home:home, phone_other:other, phone_fax:fax",
        "new_id": "uuid",
        "search_number_query": f"{_SUITECRM_SELECT} AND ("
        + " OR ".join(_digits(f"c.{column}") for column in _SUITECRM_PHONES)
        + ") LIMIT :limit",
        "search_name_query": f"{_SUITECRM_SELECT} AND (CONCAT_WS(' ', c.first_name, c.last_name) LIKE :pattern "  # noqa: S608  (constant SQL, values bound)
        "OR CONCAT_WS(' ', c.last_name, c.first_name) LIKE :pattern "
        "OR EXISTS (SELECT 1 FROM accounts_contacts ac JOIN accounts a ON a.id = ac.account_id AND a.deleted = 0 "
        "WHERE ac.contact_id = c.id AND ac.deleted = 0 AND a.name LIKE :pattern)) "
        "ORDER BY c.last_name, c.first_name LIMIT :limit",
        "get_query": f"{_SUITECRM_SELECT} AND c.id = :id",
        # SuiteCRM's own columns for a new contact; its email and account are rows of other tables, left out here
        "insert_contact_query": "INSERT INTO contacts (id, first_name, last_name, phone_work, description, "
        "date_entered, date_modified, deleted, do_not_call) VALUES (:id, :first_name, "
        "COALESCE(:last_name, :display_name, :company, ''), :phone, :notes, UTC_TIMESTAMP(), UTC_TIMESTAMP(), 0, 0)",
        # A held call related to the contact (parent_type Contacts): it shows in the contact's History
        "activity_table": "calls",
        "activity_contact_column": "parent_id",
        "activity_id_column": "id",
        "activity_subject_column": "name",
        "activity_body_column": "description",
        "activity_direction_column": "direction",
        "activity_start_column": "date_start",
        "insert_activity_query": "INSERT INTO calls (id, name, description, direction, status, date_start, date_end, "
        "duration_hours, duration_minutes, parent_type, parent_id, date_entered, date_modified, deleted) VALUES "
        "(UUID(), LEFT(:subject, 50), :body, :direction, 'Held', :start_utc, "
        "DATE_ADD(:start_utc, INTERVAL :duration_seconds SECOND), :duration_seconds DIV 3600, "
        "(:duration_seconds MOD 3600) DIV 60, 'Contacts', :contact_id, UTC_TIMESTAMP(), UTC_TIMESTAMP(), 0)",
    },
    record_path="/index.php?module=Contacts&action=DetailView&record={id}",
    edit_path="/index.php?module=Contacts&action=EditView&record={id}",
    sources=(
        "https://github.com/salesagility/SuiteCRM/blob/master/include/SugarObjects/templates/person/vardefs.php",
        "https://github.com/salesagility/SuiteCRM/blob/master/metadata/email_addressesMetaData.php",
        "https://github.com/salesagility/SuiteCRM/blob/master/metadata/accounts_contactsMetaData.php",
        "https://github.com/salesagility/SuiteCRM/blob/master/modules/Calls/vardefs.php",
    ),
)

_VTIGER_SELECT = (
    "SELECT cd.contactid AS id, cd.firstname, cd.lastname, cd.email, cd.title, cd.department, "
    "cd.phone, cd.mobile, cd.fax, csd.homephone, csd.otherphone, a.accountname "
    "FROM vtiger_contactdetails cd "
    "JOIN vtiger_crmentity e ON e.crmid = cd.contactid AND e.deleted = 0 "
    "LEFT JOIN vtiger_contactsubdetails csd ON csd.contactsubscriptionid = cd.contactid "
    "LEFT JOIN vtiger_account a ON a.accountid = cd.accountid"
)
_VTIGER_PHONES = ("cd.phone", "cd.mobile", "csd.homephone", "csd.otherphone", "cd.fax")

VTIGER_PRESET = Preset(
    name=VTIGER,
    title="vtiger CRM 7/8 (contacts)",
    settings={
        "id_column": "id",
        "first_name_column": "firstname",
        "last_name_column": "lastname",
        "company_column": "accountname",
        "email_column": "email",
        "phone_columns": "phone:business, mobile:mobile, homephone:home, otherphone:other, fax:fax",
        "search_number_query": f"{_VTIGER_SELECT} WHERE "
        + " OR ".join(_digits(column) for column in _VTIGER_PHONES)
        + " LIMIT :limit",
        "search_name_query": f"{_VTIGER_SELECT} WHERE CONCAT_WS(' ', cd.firstname, cd.lastname) LIKE :pattern "
        "OR CONCAT_WS(' ', cd.lastname, cd.firstname) LIKE :pattern OR a.accountname LIKE :pattern "
        "OR cd.email LIKE :pattern ORDER BY cd.lastname, cd.firstname LIMIT :limit",
        "get_query": f"{_VTIGER_SELECT} WHERE cd.contactid = CAST(:id AS SIGNED)",
    },
    record_path="/index.php?module=Contacts&view=Detail&record={id}",
    edit_path="/index.php?module=Contacts&view=Edit&record={id}",
    sources=("https://github.com/vtiger-crm/vtigercrm/blob/master/schema/DatabaseSchema.xml",),
)

PRESETS: Mapping[str, Preset] = {SUITECRM: SUITECRM_PRESET, VTIGER: VTIGER_PRESET}
PRESET_CHOICES = (NO_PRESET, *PRESETS)
