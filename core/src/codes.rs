//! Every error code runner reports, once: the stable `runner::…` codes a playbook's
//! `err.code`, `--json` and the docs show. `docs/error-codes.md` is generated from this
//! list (a test keeps it current), and a test checks that every code in the sources is here.
//!
//! Codes in `#[diagnostic(code(…))]` attributes must be written out there too (attributes
//! take no constants); the test holds them to this list.

// --- assign_permission_sets
/// A permission set is tied to a user licence the user does not have.
pub const ASSIGN_PERMISSION_SETS_LICENSE_MISMATCH: &str = "runner::assign_permission_sets::license_mismatch";
/// A permission set needs a permission set licence (for an integration user, Salesforce API Integration) that the user does not hold: assign_psl comes first.
pub const ASSIGN_PERMISSION_SETS_LICENSE_MISSING: &str = "runner::assign_permission_sets::license_missing";
/// No permission set named ….
pub const ASSIGN_PERMISSION_SETS_NOT_FOUND: &str = "runner::assign_permission_sets::not_found";
/// The StoreConnect package is not installed in this org (no … permission sets).
pub const ASSIGN_PERMISSION_SETS_PACKAGE_MISSING: &str = "runner::assign_permission_sets::package_missing";
// --- assign_psl
/// No free seat on the … permission set licence: … of … used.
pub const ASSIGN_PSL_NO_FREE_SEATS: &str = "runner::assign_psl::no_free_seats";
/// This org has no permission set licence ….
pub const ASSIGN_PSL_NO_LICENSE: &str = "runner::assign_psl::no_license";
// --- audit
/// audit.rhai found the org differs from a finished setup.
pub const AUDIT_DRIFT: &str = "runner::audit::drift";
// --- config
/// [orgs.…] in …: the value of … is not a valid environment variable name.
pub const CONFIG_ENV_NAME: &str = "runner::config::env_name";
/// [orgs.…] in …: ….
pub const CONFIG_INVALID: &str = "runner::config::invalid";
/// Invalid ……: ….
pub const CONFIG_PARSE: &str = "runner::config::parse";
/// … is not a usable private key: ….
pub const CONFIG_PRIVATE_KEY: &str = "runner::config::private_key";
/// Cannot read …: ….
pub const CONFIG_READ: &str = "runner::config::read";
/// The environment variable … (the … of [orgs.…]) is not set or is empty.
pub const CONFIG_SECRET_ENV: &str = "runner::config::secret_env";
/// Cannot read the … from …: ….
pub const CONFIG_SECRET_FILE: &str = "runner::config::secret_file";
/// Refusing to read the … from …: its mode is …, so other users can read it.
pub const CONFIG_SECRET_FILE_MODE: &str = "runner::config::secret_file_mode";
// --- create_user
/// The username is taken, in this or another Salesforce org.
pub const CREATE_USER_DUPLICATE_USERNAME: &str = "runner::create_user::duplicate_username";
/// … exists but is inactive.
pub const CREATE_USER_INACTIVE: &str = "runner::create_user::inactive";
/// No free seat on the … licence: … of … used.
pub const CREATE_USER_NO_FREE_SEATS: &str = "runner::create_user::no_free_seats";
/// There is no profile named ….
pub const CREATE_USER_NO_PROFILE: &str = "runner::create_user::no_profile";
// --- credentials
/// `…=` on line … of … repeats line ….
pub const CREDENTIALS_DUPLICATE_KEY: &str = "runner::credentials::duplicate_key";
/// … appeared while runner was writing it; not overwriting it.
pub const CREDENTIALS_EXISTS: &str = "runner::credentials::exists";
/// The folder … does not exist, so … cannot be there.
pub const CREDENTIALS_FOLDER_MISSING: &str = "runner::credentials::folder_missing";
/// Line … of … is not a `key=value` line.
pub const CREDENTIALS_INVALID_LINE: &str = "runner::credentials::invalid_line";
/// `otpauth=` on line … of … does not hold a usable TOTP URI.
pub const CREDENTIALS_INVALID_OTPAUTH: &str = "runner::credentials::invalid_otpauth";
/// `…=` on line … of … is not a time like 2025-06-01T10:00:00Z.
pub const CREDENTIALS_INVALID_TIME: &str = "runner::credentials::invalid_time";
/// Cannot write …: the `…` value ….
pub const CREDENTIALS_INVALID_VALUE: &str = "runner::credentials::invalid_value";
/// Reading or writing the credentials file failed.
pub const CREDENTIALS_IO: &str = "runner::credentials::io";
/// … is a folder, not a file.
pub const CREDENTIALS_IS_FOLDER: &str = "runner::credentials::is_folder";
/// … is an older runner TOTP secret file, not a credentials file.
pub const CREDENTIALS_LEGACY_TOTP_FILE: &str = "runner::credentials::legacy_totp_file";
/// There is no credentials file at ….
pub const CREDENTIALS_MISSING: &str = "runner::credentials::missing";
/// … has no `…=` line.
pub const CREDENTIALS_MISSING_KEY: &str = "runner::credentials::missing_key";
/// … is a version … credentials file; this runner reads version 1.
pub const CREDENTIALS_NEWER_VERSION: &str = "runner::credentials::newer_version";
/// … has no TOTP authenticator yet.
pub const CREDENTIALS_NO_TOTP: &str = "runner::credentials::no_totp";
/// What should be the credentials file's folder is not a folder.
pub const CREDENTIALS_NOT_A_FOLDER: &str = "runner::credentials::not_a_folder";
/// The credentials path is a FIFO, socket or device, not a regular file.
pub const CREDENTIALS_NOT_REGULAR: &str = "runner::credentials::not_regular";
/// The file is not a runner credentials file, so runner does not read or replace it.
pub const CREDENTIALS_NOT_RUNNER_FILE: &str = "runner::credentials::not_runner_file";
/// … is not a text file.
pub const CREDENTIALS_NOT_TEXT: &str = "runner::credentials::not_text";
/// … belongs to uid …, not to you (uid …).
pub const CREDENTIALS_OTHER_OWNER: &str = "runner::credentials::other_owner";
/// … holds the credentials of …, not of ….
pub const CREDENTIALS_OTHER_USER: &str = "runner::credentials::other_user";
/// The credentials file can be read or written by the group or others.
pub const CREDENTIALS_PERMISSIONS: &str = "runner::credentials::permissions";
/// The credentials path is a symbolic link.
pub const CREDENTIALS_SYMLINK: &str = "runner::credentials::symlink";
/// The credentials file is larger than runner reads.
pub const CREDENTIALS_TOO_LARGE: &str = "runner::credentials::too_large";
// --- init
/// Not overwriting existing files: ….
pub const INIT_EXISTS: &str = "runner::init::exists";
/// Cannot … ….
pub const INIT_IO: &str = "runner::init::io";
/// … is not a regular file; runner init does not replace it.
pub const INIT_NOT_A_FILE: &str = "runner::init::not_a_file";
/// … is not a folder, so runner init cannot write … into it.
pub const INIT_NOT_A_FOLDER: &str = "runner::init::not_a_folder";
/// … is a symbolic link; runner init does not write through links.
pub const INIT_SYMLINK: &str = "runner::init::symlink";
// --- journal
/// Refusing the journal …: it is …, not a regular file.
pub const JOURNAL_NOT_A_FILE: &str = "runner::journal::not_a_file";
/// Cannot open the journal …: ….
pub const JOURNAL_OPEN: &str = "runner::journal::open";
/// Refusing the journal …: it is a symbolic link.
pub const JOURNAL_SYMLINK: &str = "runner::journal::symlink";
/// Cannot write the journal …: ….
pub const JOURNAL_WRITE: &str = "runner::journal::write";
// --- mfa
/// The running user lacks "Manage Multi-Factor Authentication in API" (PermissionsManageTwoFactor).
pub const MFA_PERMISSION_MISSING: &str = "runner::mfa::permission_missing";
// --- plan
/// Planning found several problems before the run's first write; nothing was written.
pub const PLAN_CANNOT_FINISH: &str = "runner::plan::cannot_finish";
// --- play
/// Several orgs of one run would share a credentials file.
pub const PLAY_SHARED_CREDENTIALS_FILE: &str = "runner::play::shared_credentials_file";
// --- playbook
/// Argument…: ….
pub const PLAYBOOK_BAD_ARGUMENT: &str = "runner::playbook::bad_argument";
/// A closure that captures values is used where it could outlive its call (or curry is used).
pub const PLAYBOOK_CLOSURE_CAPTURE: &str = "runner::playbook::closure_capture";
/// The playbook called exit() with a failing value.
pub const PLAYBOOK_EXIT: &str = "runner::playbook::exit";
/// Modules import each other in a circle.
pub const PLAYBOOK_IMPORT_CYCLE: &str = "runner::playbook::import_cycle";
/// The playbook hit a safety limit: operations, depth or sizes.
pub const PLAYBOOK_LIMIT: &str = "runner::playbook::limit";
/// The playbook needs a --var that was not given.
pub const PLAYBOOK_MISSING_VAR: &str = "runner::playbook::missing_var";
/// Cannot import `…`: ….
pub const PLAYBOOK_MODULE_NOT_FOUND: &str = "runner::playbook::module_not_found";
/// … is a folder, not a playbook file.
pub const PLAYBOOK_NOT_FOUND: &str = "runner::playbook::not_found";
/// A playbook may not define a function named `…`.
pub const PLAYBOOK_RESERVED_NAME: &str = "runner::playbook::reserved_name";
/// The playbook failed at run time in the Rhai engine.
pub const PLAYBOOK_RUNTIME: &str = "runner::playbook::runtime";
/// The playbook calls sleep, which runner does not allow.
pub const PLAYBOOK_SLEEP: &str = "runner::playbook::sleep";
/// A playbook-defined step (step(name, || …)) failed.
pub const PLAYBOOK_STEP_FAILED: &str = "runner::playbook::step_failed";
/// The playbook (or a module) does not parse.
pub const PLAYBOOK_SYNTAX: &str = "runner::playbook::syntax";
/// The playbook threw a value of its own.
pub const PLAYBOOK_THROWN: &str = "runner::playbook::thrown";
/// The playbook ran past its deadline (--timeout).
pub const PLAYBOOK_TIMEOUT: &str = "runner::playbook::timeout";
/// A call names a function or step that does not exist.
pub const PLAYBOOK_UNKNOWN_FUNCTION: &str = "runner::playbook::unknown_function";
/// The playbook uses a variable it never declared.
pub const PLAYBOOK_UNKNOWN_VARIABLE: &str = "runner::playbook::unknown_variable";
// --- sandbox
/// The run's deadline passed while the playbook ran.
pub const SANDBOX_DEADLINE: &str = "runner::sandbox::deadline";
/// The run's shared operation budget ran out.
pub const SANDBOX_OPERATIONS: &str = "runner::sandbox::operations";
// --- set_defaults
/// An object has several active record types and no default was given.
pub const SET_DEFAULTS_DEFAULT_NEEDED: &str = "runner::set_defaults::default_needed";
/// The profile whose defaults are set was not found.
pub const SET_DEFAULTS_NO_PROFILE: &str = "runner::set_defaults::no_profile";
/// A default is given for …, which this org does not have….
pub const SET_DEFAULTS_UNKNOWN_OBJECT: &str = "runner::set_defaults::unknown_object";
/// … has no active record type ……; choose one of: ….
pub const SET_DEFAULTS_UNKNOWN_RECORD_TYPE: &str = "runner::set_defaults::unknown_record_type";
// --- set_password
/// The running user may not set another user's password (Manage Users).
pub const SET_PASSWORD_ACCESS: &str = "runner::set_password::access";
/// Salesforce accepted the password but …'s LastPasswordChangeDate is empty.
pub const SET_PASSWORD_NOT_CONFIRMED: &str = "runner::set_password::not_confirmed";
/// There is neither a credentials file nor a terminal to keep the password in.
pub const SET_PASSWORD_NOWHERE_TO_KEEP: &str = "runner::set_password::nowhere_to_keep";
/// The org's password policy refused the password.
pub const SET_PASSWORD_POLICY: &str = "runner::set_password::policy";
/// The operating system's random generator failed.
pub const SET_PASSWORD_RANDOM: &str = "runner::set_password::random";
// --- sf
/// Salesforce refused the request with its own error code.
pub const SF_API: &str = "runner::sf::api";
/// … … answered more than … (runner's cap on one answer).
pub const SF_BODY_TOO_LARGE: &str = "runner::sf::body_too_large";
/// Invalid client configuration: ….
pub const SF_CONFIG: &str = "runner::sf::config";
/// … … answered HTTP … with no body, where Salesforce's API sends one.
pub const SF_EMPTY_BODY: &str = "runner::sf::empty_body";
/// Salesforce or the connection failed in a way runner has no more specific code for.
pub const SF_ERROR: &str = "runner::sf::error";
/// Refusing to send credentials over plain http to ….
pub const SF_INSECURE_URL: &str = "runner::sf::insecure_url";
/// … … answered HTTP … with JSON that does not parse: ….
pub const SF_INVALID_JSON: &str = "runner::sf::invalid_json";
/// `…` is not ….
pub const SF_INVALID_NAME: &str = "runner::sf::invalid_name";
/// `…` is not a Salesforce API path: ….
pub const SF_INVALID_PATH: &str = "runner::sf::invalid_path";
/// Invalid URL `…`: ….
pub const SF_INVALID_URL: &str = "runner::sf::invalid_url";
/// … … reported success but gave no record id.
pub const SF_MISSING_ID: &str = "runner::sf::missing_id";
/// The token endpoint refused the request (HTTP …): …: ….
pub const SF_OAUTH: &str = "runner::sf::oauth";
/// The query's pages go round in a loop: nextRecordsUrl … came back after … page(s).
pub const SF_PAGINATION_LOOP: &str = "runner::sf::pagination_loop";
/// … … was rate limited (HTTP 429)….
pub const SF_RATE_LIMITED: &str = "runner::sf::rate_limited";
/// The org's daily API request limit is exceeded….
pub const SF_REQUEST_LIMIT: &str = "runner::sf::request_limit";
/// The Salesforce session is invalid or has expired (… …).
pub const SF_SESSION_INVALID: &str = "runner::sf::session_invalid";
/// The Metadata API returned a SOAP fault …: ….
pub const SF_SOAP: &str = "runner::sf::soap";
/// … … got no answer within ….
pub const SF_TIMEOUT: &str = "runner::sf::timeout";
/// … …: TLS with … failed: ….
pub const SF_TLS: &str = "runner::sf::tls";
/// The query has more than … pages (…): runner stops reading there.
pub const SF_TOO_MANY_PAGES: &str = "runner::sf::too_many_pages";
/// … … failed: …….
pub const SF_TRANSPORT: &str = "runner::sf::transport";
/// … …: the server is temporarily unavailable (HTTP 503)…….
pub const SF_UNAVAILABLE: &str = "runner::sf::unavailable";
/// … … answered HTTP … with … where Salesforce's API was expected: ….
pub const SF_UNEXPECTED_RESPONSE: &str = "runner::sf::unexpected_response";
/// … … answered JSON that is not ….
pub const SF_UNEXPECTED_SHAPE: &str = "runner::sf::unexpected_shape";
// --- sim
/// Cannot … ….
pub const SIM_CERT_IO: &str = "runner::sim::cert_io";
/// … is not a regular file; not replacing it with the certificate.
pub const SIM_CERT_NOT_A_FILE: &str = "runner::sim::cert_not_a_file";
/// … is a symbolic link; runner sim serve does not write the certificate through links.
pub const SIM_CERT_SYMLINK: &str = "runner::sim::cert_symlink";
// --- step
/// The step asked for the read `…`, which its observe does not declare.
pub const STEP_UNDECLARED_READ: &str = "runner::step::undeclared_read";
/// The user a step works on does not exist (and no earlier step plans to create it).
pub const STEP_USER_NOT_FOUND: &str = "runner::step::user_not_found";
// --- swap_user
/// No UserLogin row for ….
pub const SWAP_USER_NO_LOGIN: &str = "runner::swap_user::no_login";
/// … cannot sign in to StoreConnect yet: ….
pub const SWAP_USER_NOT_READY: &str = "runner::swap_user::not_ready";
/// … is the user StoreConnect is configured with; it is not retired.
pub const SWAP_USER_RETIRE_CONFIGURED: &str = "runner::swap_user::retire_configured";
// --- target
/// Cannot read the certificates in … (…): ….
pub const TARGET_CA_CERT: &str = "runner::target::ca_cert";
/// … names …, which holds no usable certificate: ….
pub const TARGET_CA_CERT_INVALID: &str = "runner::target::ca_cert_invalid";
/// The org could not be reached or authenticated.
pub const TARGET_CONNECT: &str = "runner::target::connect";
/// SF_ACCESS_TOKEN is not set, and target … needs an access token.
pub const TARGET_NO_TOKEN: &str = "runner::target::no_token";
/// Unknown simulated-org scenario `…`.
pub const TARGET_SCENARIO: &str = "runner::target::scenario";
/// `sf …` failed for `…`: ….
pub const TARGET_SF_FAILED: &str = "runner::target::sf_failed";
/// The sf CLI gave no usable access token for `…`: ….
pub const TARGET_SF_NO_TOKEN: &str = "runner::target::sf_no_token";
/// The sf CLI is not installed or not on PATH.
pub const TARGET_SF_NOT_FOUND: &str = "runner::target::sf_not_found";
/// `sf …` for `…` did not finish within … s.
pub const TARGET_SF_TIMEOUT: &str = "runner::target::sf_timeout";
/// The simulated org could not start.
pub const TARGET_SIM: &str = "runner::target::sim";
/// `…` is not a target runner knows.
pub const TARGET_UNKNOWN: &str = "runner::target::unknown";
/// No named org, sf alias or URL matches the --org given.
pub const TARGET_UNKNOWN_ORG: &str = "runner::target::unknown_org";
/// The --org URL … holds a user name or password; refusing it.
pub const TARGET_URL_CREDENTIALS: &str = "runner::target::url_credentials";
// --- totp
/// Character … of the TOTP secret is not a base32 character (A-Z, 2-7).
pub const TOTP_BASE32_CHARACTER: &str = "runner::totp::base32_character";
/// A TOTP secret must be 32 base32 characters (20 bytes); this one has ….
pub const TOTP_BASE32_LENGTH: &str = "runner::totp::base32_length";
/// … already exists; not overwriting it.
pub const TOTP_FILE_EXISTS: &str = "runner::totp::file_exists";
/// A line of a TOTP secret file does not hold a valid secret.
pub const TOTP_FILE_INVALID_LINE: &str = "runner::totp::file_invalid_line";
/// … holds different TOTP secrets (on lines … and …).
pub const TOTP_FILE_MISMATCH: &str = "runner::totp::file_mismatch";
/// … does not contain a TOTP secret.
pub const TOTP_FILE_NO_SECRET: &str = "runner::totp::file_no_secret";
/// … holds a TOTP secret but its mode is …: group or others can access it.
pub const TOTP_FILE_PERMISSIONS: &str = "runner::totp::file_permissions";
/// Could not … ….
pub const TOTP_IO: &str = "runner::totp::io";
/// Could not render the otpauth URI as a QR code: ….
pub const TOTP_QR: &str = "runner::totp::qr";
/// Could not get random bytes from the operating system for a new TOTP secret.
pub const TOTP_RANDOM: &str = "runner::totp::random";
/// Unsupported otpauth URI: ….
pub const TOTP_UNSUPPORTED_URI: &str = "runner::totp::unsupported_uri";
// --- verify
/// Salesforce accepted the secret but TwoFactorMethodsInfo does not show TOTP for ….
pub const VERIFY_NOT_CONFIRMED: &str = "runner::verify::not_confirmed";
/// There is neither a credentials file nor a terminal to keep the TOTP secret in.
pub const VERIFY_NOWHERE_TO_SHOW_SECRET: &str = "runner::verify::nowhere_to_show_secret";
/// The operating system's random generator failed.
pub const VERIFY_RANDOM: &str = "runner::verify::random";

/// Every code with what it means, in the order above.
pub const ALL: &[(&str, &str)] = &[
    (ASSIGN_PERMISSION_SETS_LICENSE_MISMATCH, "A permission set is tied to a user licence the user does not have."),
    (ASSIGN_PERMISSION_SETS_LICENSE_MISSING, "A permission set needs a permission set licence (for an integration user, Salesforce API Integration) that the user does not hold: assign_psl comes first."),
    (ASSIGN_PERMISSION_SETS_NOT_FOUND, "No permission set named …."),
    (ASSIGN_PERMISSION_SETS_PACKAGE_MISSING, "The StoreConnect package is not installed in this org (no … permission sets)."),
    (ASSIGN_PSL_NO_FREE_SEATS, "No free seat on the … permission set licence: … of … used."),
    (ASSIGN_PSL_NO_LICENSE, "This org has no permission set licence …."),
    (AUDIT_DRIFT, "audit.rhai found the org differs from a finished setup."),
    (CONFIG_ENV_NAME, "[orgs.…] in …: the value of … is not a valid environment variable name."),
    (CONFIG_INVALID, "[orgs.…] in …: …."),
    (CONFIG_PARSE, "Invalid ……: …."),
    (CONFIG_PRIVATE_KEY, "… is not a usable private key: …."),
    (CONFIG_READ, "Cannot read …: …."),
    (CONFIG_SECRET_ENV, "The environment variable … (the … of [orgs.…]) is not set or is empty."),
    (CONFIG_SECRET_FILE, "Cannot read the … from …: …."),
    (CONFIG_SECRET_FILE_MODE, "Refusing to read the … from …: its mode is …, so other users can read it."),
    (CREATE_USER_DUPLICATE_USERNAME, "The username is taken, in this or another Salesforce org."),
    (CREATE_USER_INACTIVE, "… exists but is inactive."),
    (CREATE_USER_NO_FREE_SEATS, "No free seat on the … licence: … of … used."),
    (CREATE_USER_NO_PROFILE, "There is no profile named …."),
    (CREDENTIALS_DUPLICATE_KEY, "`…=` on line … of … repeats line …."),
    (CREDENTIALS_EXISTS, "… appeared while runner was writing it; not overwriting it."),
    (CREDENTIALS_FOLDER_MISSING, "The folder … does not exist, so … cannot be there."),
    (CREDENTIALS_INVALID_LINE, "Line … of … is not a `key=value` line."),
    (CREDENTIALS_INVALID_OTPAUTH, "`otpauth=` on line … of … does not hold a usable TOTP URI."),
    (CREDENTIALS_INVALID_TIME, "`…=` on line … of … is not a time like 2025-06-01T10:00:00Z."),
    (CREDENTIALS_INVALID_VALUE, "Cannot write …: the `…` value …."),
    (CREDENTIALS_IO, "Reading or writing the credentials file failed."),
    (CREDENTIALS_IS_FOLDER, "… is a folder, not a file."),
    (CREDENTIALS_LEGACY_TOTP_FILE, "… is an older runner TOTP secret file, not a credentials file."),
    (CREDENTIALS_MISSING, "There is no credentials file at …."),
    (CREDENTIALS_MISSING_KEY, "… has no `…=` line."),
    (CREDENTIALS_NEWER_VERSION, "… is a version … credentials file; this runner reads version 1."),
    (CREDENTIALS_NO_TOTP, "… has no TOTP authenticator yet."),
    (CREDENTIALS_NOT_A_FOLDER, "What should be the credentials file's folder is not a folder."),
    (CREDENTIALS_NOT_REGULAR, "The credentials path is a FIFO, socket or device, not a regular file."),
    (CREDENTIALS_NOT_RUNNER_FILE, "The file is not a runner credentials file, so runner does not read or replace it."),
    (CREDENTIALS_NOT_TEXT, "… is not a text file."),
    (CREDENTIALS_OTHER_OWNER, "… belongs to uid …, not to you (uid …)."),
    (CREDENTIALS_OTHER_USER, "… holds the credentials of …, not of …."),
    (CREDENTIALS_PERMISSIONS, "The credentials file can be read or written by the group or others."),
    (CREDENTIALS_SYMLINK, "The credentials path is a symbolic link."),
    (CREDENTIALS_TOO_LARGE, "The credentials file is larger than runner reads."),
    (INIT_EXISTS, "Not overwriting existing files: …."),
    (INIT_IO, "Cannot … …."),
    (INIT_NOT_A_FILE, "… is not a regular file; runner init does not replace it."),
    (INIT_NOT_A_FOLDER, "… is not a folder, so runner init cannot write … into it."),
    (INIT_SYMLINK, "… is a symbolic link; runner init does not write through links."),
    (JOURNAL_NOT_A_FILE, "Refusing the journal …: it is …, not a regular file."),
    (JOURNAL_OPEN, "Cannot open the journal …: …."),
    (JOURNAL_SYMLINK, "Refusing the journal …: it is a symbolic link."),
    (JOURNAL_WRITE, "Cannot write the journal …: …."),
    (MFA_PERMISSION_MISSING, "The running user lacks \"Manage Multi-Factor Authentication in API\" (PermissionsManageTwoFactor)."),
    (PLAN_CANNOT_FINISH, "Planning found several problems before the run's first write; nothing was written."),
    (PLAY_SHARED_CREDENTIALS_FILE, "Several orgs of one run would share a credentials file."),
    (PLAYBOOK_BAD_ARGUMENT, "Argument…: …."),
    (PLAYBOOK_CLOSURE_CAPTURE, "A closure that captures values is used where it could outlive its call (or curry is used)."),
    (PLAYBOOK_EXIT, "The playbook called exit() with a failing value."),
    (PLAYBOOK_IMPORT_CYCLE, "Modules import each other in a circle."),
    (PLAYBOOK_LIMIT, "The playbook hit a safety limit: operations, depth or sizes."),
    (PLAYBOOK_MISSING_VAR, "The playbook needs a --var that was not given."),
    (PLAYBOOK_MODULE_NOT_FOUND, "Cannot import `…`: …."),
    (PLAYBOOK_NOT_FOUND, "… is a folder, not a playbook file."),
    (PLAYBOOK_RESERVED_NAME, "A playbook may not define a function named `…`."),
    (PLAYBOOK_RUNTIME, "The playbook failed at run time in the Rhai engine."),
    (PLAYBOOK_SLEEP, "The playbook calls sleep, which runner does not allow."),
    (PLAYBOOK_STEP_FAILED, "A playbook-defined step (step(name, || …)) failed."),
    (PLAYBOOK_SYNTAX, "The playbook (or a module) does not parse."),
    (PLAYBOOK_THROWN, "The playbook threw a value of its own."),
    (PLAYBOOK_TIMEOUT, "The playbook ran past its deadline (--timeout)."),
    (PLAYBOOK_UNKNOWN_FUNCTION, "A call names a function or step that does not exist."),
    (PLAYBOOK_UNKNOWN_VARIABLE, "The playbook uses a variable it never declared."),
    (SANDBOX_DEADLINE, "The run's deadline passed while the playbook ran."),
    (SANDBOX_OPERATIONS, "The run's shared operation budget ran out."),
    (SET_DEFAULTS_DEFAULT_NEEDED, "An object has several active record types and no default was given."),
    (SET_DEFAULTS_NO_PROFILE, "The profile whose defaults are set was not found."),
    (SET_DEFAULTS_UNKNOWN_OBJECT, "A default is given for …, which this org does not have…."),
    (SET_DEFAULTS_UNKNOWN_RECORD_TYPE, "… has no active record type ……; choose one of: …."),
    (SET_PASSWORD_ACCESS, "The running user may not set another user's password (Manage Users)."),
    (SET_PASSWORD_NOT_CONFIRMED, "Salesforce accepted the password but …'s LastPasswordChangeDate is empty."),
    (SET_PASSWORD_NOWHERE_TO_KEEP, "There is neither a credentials file nor a terminal to keep the password in."),
    (SET_PASSWORD_POLICY, "The org's password policy refused the password."),
    (SET_PASSWORD_RANDOM, "The operating system's random generator failed."),
    (SF_API, "Salesforce refused the request with its own error code."),
    (SF_BODY_TOO_LARGE, "… … answered more than … (runner's cap on one answer)."),
    (SF_CONFIG, "Invalid client configuration: …."),
    (SF_EMPTY_BODY, "… … answered HTTP … with no body, where Salesforce's API sends one."),
    (SF_ERROR, "Salesforce or the connection failed in a way runner has no more specific code for."),
    (SF_INSECURE_URL, "Refusing to send credentials over plain http to …."),
    (SF_INVALID_JSON, "… … answered HTTP … with JSON that does not parse: …."),
    (SF_INVALID_NAME, "`…` is not …."),
    (SF_INVALID_PATH, "`…` is not a Salesforce API path: …."),
    (SF_INVALID_URL, "Invalid URL `…`: …."),
    (SF_MISSING_ID, "… … reported success but gave no record id."),
    (SF_OAUTH, "The token endpoint refused the request (HTTP …): …: …."),
    (SF_PAGINATION_LOOP, "The query's pages go round in a loop: nextRecordsUrl … came back after … page(s)."),
    (SF_RATE_LIMITED, "… … was rate limited (HTTP 429)…."),
    (SF_REQUEST_LIMIT, "The org's daily API request limit is exceeded…."),
    (SF_SESSION_INVALID, "The Salesforce session is invalid or has expired (… …)."),
    (SF_SOAP, "The Metadata API returned a SOAP fault …: …."),
    (SF_TIMEOUT, "… … got no answer within …."),
    (SF_TLS, "… …: TLS with … failed: …."),
    (SF_TOO_MANY_PAGES, "The query has more than … pages (…): runner stops reading there."),
    (SF_TRANSPORT, "… … failed: ……."),
    (SF_UNAVAILABLE, "… …: the server is temporarily unavailable (HTTP 503)……."),
    (SF_UNEXPECTED_RESPONSE, "… … answered HTTP … with … where Salesforce's API was expected: …."),
    (SF_UNEXPECTED_SHAPE, "… … answered JSON that is not …."),
    (SIM_CERT_IO, "Cannot … …."),
    (SIM_CERT_NOT_A_FILE, "… is not a regular file; not replacing it with the certificate."),
    (SIM_CERT_SYMLINK, "… is a symbolic link; runner sim serve does not write the certificate through links."),
    (STEP_UNDECLARED_READ, "The step asked for the read `…`, which its observe does not declare."),
    (STEP_USER_NOT_FOUND, "The user a step works on does not exist (and no earlier step plans to create it)."),
    (SWAP_USER_NO_LOGIN, "No UserLogin row for …."),
    (SWAP_USER_NOT_READY, "… cannot sign in to StoreConnect yet: …."),
    (SWAP_USER_RETIRE_CONFIGURED, "… is the user StoreConnect is configured with; it is not retired."),
    (TARGET_CA_CERT, "Cannot read the certificates in … (…): …."),
    (TARGET_CA_CERT_INVALID, "… names …, which holds no usable certificate: …."),
    (TARGET_CONNECT, "The org could not be reached or authenticated."),
    (TARGET_NO_TOKEN, "SF_ACCESS_TOKEN is not set, and target … needs an access token."),
    (TARGET_SCENARIO, "Unknown simulated-org scenario `…`."),
    (TARGET_SF_FAILED, "`sf …` failed for `…`: …."),
    (TARGET_SF_NO_TOKEN, "The sf CLI gave no usable access token for `…`: …."),
    (TARGET_SF_NOT_FOUND, "The sf CLI is not installed or not on PATH."),
    (TARGET_SF_TIMEOUT, "`sf …` for `…` did not finish within … s."),
    (TARGET_SIM, "The simulated org could not start."),
    (TARGET_UNKNOWN, "`…` is not a target runner knows."),
    (TARGET_UNKNOWN_ORG, "No named org, sf alias or URL matches the --org given."),
    (TARGET_URL_CREDENTIALS, "The --org URL … holds a user name or password; refusing it."),
    (TOTP_BASE32_CHARACTER, "Character … of the TOTP secret is not a base32 character (A-Z, 2-7)."),
    (TOTP_BASE32_LENGTH, "A TOTP secret must be 32 base32 characters (20 bytes); this one has …."),
    (TOTP_FILE_EXISTS, "… already exists; not overwriting it."),
    (TOTP_FILE_INVALID_LINE, "A line of a TOTP secret file does not hold a valid secret."),
    (TOTP_FILE_MISMATCH, "… holds different TOTP secrets (on lines … and …)."),
    (TOTP_FILE_NO_SECRET, "… does not contain a TOTP secret."),
    (TOTP_FILE_PERMISSIONS, "… holds a TOTP secret but its mode is …: group or others can access it."),
    (TOTP_IO, "Could not … …."),
    (TOTP_QR, "Could not render the otpauth URI as a QR code: …."),
    (TOTP_RANDOM, "Could not get random bytes from the operating system for a new TOTP secret."),
    (TOTP_UNSUPPORTED_URI, "Unsupported otpauth URI: …."),
    (VERIFY_NOT_CONFIRMED, "Salesforce accepted the secret but TwoFactorMethodsInfo does not show TOTP for …."),
    (VERIFY_NOWHERE_TO_SHOW_SECRET, "There is neither a credentials file nor a terminal to keep the TOTP secret in."),
    (VERIFY_RANDOM, "The operating system's random generator failed."),
];
