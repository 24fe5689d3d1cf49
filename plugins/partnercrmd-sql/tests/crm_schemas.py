"""SuiteCRM's and vtiger's contact tables, as their published schemas define them, for the presets' tests.

Neither CRM can be installed here (no Debian or PyPI package; see ../shared/design/REAL_SERVERS.md),
so the tests create the tables the presets read, column for column, from the CRMs' own schema files,
in the real MariaDB server, and fill them as the CRM would.

SuiteCRM 7 (https://github.com/salesagility/SuiteCRM) describes tables as "vardefs" that its
installer turns into MySQL tables: a field of type `id` is `char(36)`, `bool` is `tinyint(1)`,
`phone` has dbType `varchar` with its `len`. Columns below come from
`include/SugarObjects/templates/basic/vardefs.php` (id, name, dates, modified_user_id, created_by,
description, deleted), `templates/assignable` (assigned_user_id), `templates/person/vardefs.php`
(salutation … assistant_phone), `metadata/accounts_contactsMetaData.php`,
`metadata/email_addressesMetaData.php` (email_addresses, email_addr_bean_rel) and
`modules/Calls/vardefs.php`. Contacts-only columns the presets never read (birthdate, lead_source,
portal fields) are left out.

vtiger CRM (https://github.com/vtiger-crm/vtigercrm, `schema/DatabaseSchema.xml`, ADOdb's XML
schema: type I is an integer of `size` digits, C a varchar of `size`, X text, T a datetime, D a
date): vtiger_crmentity, vtiger_account, vtiger_contactdetails and vtiger_contactsubdetails with
their foreign keys, every column as the file lists it.
"""

from __future__ import annotations

_BASIC = (
    "id char(36) NOT NULL PRIMARY KEY, date_entered datetime, date_modified datetime, modified_user_id char(36), "
    "created_by char(36), description text, deleted tinyint(1) DEFAULT 0, assigned_user_id char(36)"
)

SUITECRM_TABLES = (
    f"""CREATE TABLE contacts ({_BASIC},
        salutation varchar(255), first_name varchar(100), last_name varchar(100), title varchar(100),
        photo varchar(255), department varchar(255), do_not_call tinyint(1) DEFAULT 0,
        phone_home varchar(100), phone_mobile varchar(100), phone_work varchar(100), phone_other varchar(100),
        phone_fax varchar(100), lawful_basis text, date_reviewed date, lawful_basis_source varchar(100),
        primary_address_street varchar(150), primary_address_city varchar(100), primary_address_state varchar(100),
        primary_address_postalcode varchar(20), primary_address_country varchar(255),
        alt_address_street varchar(150), alt_address_city varchar(100), alt_address_state varchar(100),
        alt_address_postalcode varchar(20), alt_address_country varchar(255),
        assistant varchar(75), assistant_phone varchar(100)) CHARACTER SET utf8""",
    f"CREATE TABLE accounts ({_BASIC}, name varchar(150)) CHARACTER SET utf8",
    """CREATE TABLE accounts_contacts (id varchar(36) NOT NULL PRIMARY KEY, contact_id varchar(36),
        account_id varchar(36), date_modified datetime, deleted tinyint(1) DEFAULT 0,
        KEY idx_account_contact (account_id, contact_id), KEY idx_contid_del_accid (contact_id, deleted, account_id))
        CHARACTER SET utf8""",
    """CREATE TABLE email_addresses (id char(36) NOT NULL PRIMARY KEY, email_address varchar(100),
        email_address_caps varchar(100), invalid_email tinyint(1) DEFAULT 0, opt_out tinyint(1) DEFAULT 0,
        date_created datetime, date_modified datetime, deleted tinyint(1) DEFAULT 0) CHARACTER SET utf8""",
    """CREATE TABLE email_addr_bean_rel (id char(36) NOT NULL PRIMARY KEY, email_address_id char(36) NOT NULL,
        bean_id char(36) NOT NULL, bean_module varchar(100) NOT NULL, primary_address tinyint(1) DEFAULT 0,
        reply_to_address tinyint(1) DEFAULT 0, date_created datetime, date_modified datetime,
        deleted tinyint(1) DEFAULT 0, KEY idx_bean_id (bean_id, bean_module)) CHARACTER SET utf8""",
    f"""CREATE TABLE calls ({_BASIC}, name varchar(50), duration_hours int(2), duration_minutes int(2),
        date_start datetime, date_end datetime, parent_type varchar(255), status varchar(100) DEFAULT 'Planned',
        direction varchar(100), parent_id char(36), reminder_time int DEFAULT -1, email_reminder_time int DEFAULT -1,
        email_reminder_sent tinyint(1) DEFAULT 0, outlook_id varchar(255), repeat_type varchar(36),
        repeat_interval int(3) DEFAULT 1, repeat_dow varchar(7), repeat_until date, repeat_count int(7),
        repeat_parent_id char(36), recurring_source varchar(36)) CHARACTER SET utf8""",
)

VTIGER_TABLES = (
    """CREATE TABLE vtiger_crmentity (crmid int(19) NOT NULL PRIMARY KEY, smcreatorid int(19) NOT NULL DEFAULT 0,
        smownerid int(19) NOT NULL DEFAULT 0, modifiedby int(19) NOT NULL DEFAULT 0, setype varchar(30) NOT NULL,
        description text, createdtime datetime NOT NULL, modifiedtime datetime NOT NULL, viewedtime datetime,
        status varchar(50), version int(19) NOT NULL DEFAULT 0, presence int(1) DEFAULT 1,
        deleted int(1) NOT NULL DEFAULT 0, KEY crmentity_smcreatorid_idx (smcreatorid),
        KEY crmentity_modifiedby_idx (modifiedby), KEY crmentity_deleted_idx (deleted),
        KEY crm_ownerid_del_setype_idx (smownerid, deleted, setype)) ENGINE=InnoDB CHARACTER SET utf8""",
    """CREATE TABLE vtiger_account (accountid int(19) NOT NULL DEFAULT 0 PRIMARY KEY,
        account_no varchar(100) NOT NULL UNIQUE, accountname varchar(100) NOT NULL, parentid int(19) DEFAULT 0,
        account_type varchar(200), industry varchar(200), annualrevenue int(19) DEFAULT 0, rating varchar(200),
        ownership varchar(50), siccode varchar(50), tickersymbol varchar(30), phone varchar(30),
        otherphone varchar(30), email1 varchar(100), email2 varchar(100), website varchar(100), fax varchar(30),
        employees int(10) DEFAULT 0, emailoptout varchar(3) DEFAULT '0', notify_owner varchar(3) DEFAULT '0',
        KEY account_account_type_idx (account_type),
        CONSTRAINT fk_1_vtiger_account FOREIGN KEY (accountid) REFERENCES vtiger_crmentity (crmid) ON DELETE CASCADE)
        ENGINE=InnoDB CHARACTER SET utf8""",
    """CREATE TABLE vtiger_contactdetails (contactid int(19) NOT NULL DEFAULT 0 PRIMARY KEY,
        contact_no varchar(100) NOT NULL UNIQUE, accountid int(19), salutation varchar(200), firstname varchar(40),
        lastname varchar(80) NOT NULL, email varchar(100), phone varchar(50), mobile varchar(50), title varchar(50),
        department varchar(30), fax varchar(50), reportsto varchar(30), training varchar(50), usertype varchar(50),
        contacttype varchar(50), otheremail varchar(100), secondaryemail varchar(100), donotcall varchar(3),
        emailoptout varchar(3) DEFAULT '0', imagename varchar(150), reference varchar(3),
        notify_owner varchar(3) DEFAULT '0', KEY contactdetails_accountid_idx (accountid),
        CONSTRAINT fk_1_vtiger_contactdetails FOREIGN KEY (contactid) REFERENCES vtiger_crmentity (crmid)
        ON DELETE CASCADE) ENGINE=InnoDB CHARACTER SET utf8""",
    """CREATE TABLE vtiger_contactsubdetails (contactsubscriptionid int(19) NOT NULL DEFAULT 0 PRIMARY KEY,
        homephone varchar(50), otherphone varchar(50), assistant varchar(30), assistantphone varchar(50),
        birthday date, laststayintouchrequest int(30) DEFAULT 0, laststayintouchsavedate int(19) DEFAULT 0,
        leadsource varchar(200),
        CONSTRAINT fk_1_vtiger_contactsubdetails FOREIGN KEY (contactsubscriptionid)
        REFERENCES vtiger_contactdetails (contactid) ON DELETE CASCADE) ENGINE=InnoDB CHARACTER SET utf8""",
)
