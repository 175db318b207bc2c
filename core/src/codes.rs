//! Every error code runner reports, once: the stable `runner::…` codes a playbook's
//! `err.code`, `--json` and the docs show. `docs/error-codes.md` is generated from this
//! list (a test keeps it current), and a test checks that every code in the sources is here.
//!
//! Each code is declared once, with its meaning as its doc comment; the macro gives both the
//! constant and its row in [`ALL`].
//!
//! Codes in `#[diagnostic(code(…))]` attributes must be written out there too (attributes
//! take no constants); the test holds them to this list.

macro_rules! codes {
    ($( $(#[doc = $doc:literal])+ $name:ident = $code:literal; )+) => {
        $( $(#[doc = $doc])+ pub const $name: &str = $code; )+
        /// Every code with what it means, in the order above.
        pub const ALL: &[(&str, &str)] = &[ $( ($code, concat!($($doc),+)), )+ ];
    };
}

codes! {
    // --- assign_permission_sets
    /// A permission set is tied to a user licence the user does not have.
    ASSIGN_PERMISSION_SETS_LICENSE_MISMATCH = "runner::assign_permission_sets::license_mismatch";
    /// A permission set needs a permission set licence (for an integration user, Salesforce API Integration) that the user does not hold: assign_psl comes first.
    ASSIGN_PERMISSION_SETS_LICENSE_MISSING = "runner::assign_permission_sets::license_missing";
    /// No permission set named ….
    ASSIGN_PERMISSION_SETS_NOT_FOUND = "runner::assign_permission_sets::not_found";
    /// The StoreConnect package is not installed in this org (no … permission sets).
    ASSIGN_PERMISSION_SETS_PACKAGE_MISSING = "runner::assign_permission_sets::package_missing";
    // --- assign_psl
    /// Every seat of the permission set licence is in use, so the user cannot be given one.
    ASSIGN_PSL_NO_FREE_SEATS = "runner::assign_psl::no_free_seats";
    /// This org has no permission set licence ….
    ASSIGN_PSL_NO_LICENSE = "runner::assign_psl::no_license";
    // --- config
    /// An org in runner.toml names an environment variable whose name is not valid.
    CONFIG_ENV_NAME = "runner::config::env_name";
    /// Groups in runner.toml contain each other, directly or through other groups.
    CONFIG_GROUP_CYCLE = "runner::config::group_cycle";
    /// An org in runner.toml is incomplete or contradictory (for example, two ways to sign in).
    CONFIG_INVALID = "runner::config::invalid";
    /// runner.toml's inventory cannot be used: an org and a group of one name, vars for a group that is not there, a var name --var would refuse.
    CONFIG_INVENTORY = "runner::config::inventory";
    /// runner.toml is not valid TOML or has keys runner does not know.
    CONFIG_PARSE = "runner::config::parse";
    /// The JWT private key file does not hold a usable RSA private key.
    CONFIG_PRIVATE_KEY = "runner::config::private_key";
    /// runner.toml cannot be read.
    CONFIG_READ = "runner::config::read";
    /// The environment variable that should hold an org's secret is not set or is empty.
    CONFIG_SECRET_ENV = "runner::config::secret_env";
    /// The file that should hold an org's secret cannot be read.
    CONFIG_SECRET_FILE = "runner::config::secret_file";
    /// A secret file is readable by other users, so runner refuses to use it.
    CONFIG_SECRET_FILE_MODE = "runner::config::secret_file_mode";
    /// `--org @NAME` (or a group's member, or [group_vars.NAME]) names a group runner.toml does not define.
    CONFIG_UNKNOWN_GROUP = "runner::config::unknown_group";
    /// A runner.toml that another user could have written (group- or world-writable, or owned by someone else) is refused.
    CONFIG_UNSAFE_PERMISSIONS = "runner::config::unsafe_permissions";
    /// A runner.toml outside the user config directory that is not trusted (new, or edited since `runner trust`): it is not used.
    CONFIG_UNTRUSTED = "runner::config::untrusted";
    // --- create_user
    /// The username is taken, in this or another Salesforce org.
    CREATE_USER_DUPLICATE_USERNAME = "runner::create_user::duplicate_username";
    /// … exists but is inactive.
    CREATE_USER_INACTIVE = "runner::create_user::inactive";
    /// Every seat of the Salesforce Integration user licence is in use.
    CREATE_USER_NO_FREE_SEATS = "runner::create_user::no_free_seats";
    /// There is no profile named ….
    CREATE_USER_NO_PROFILE = "runner::create_user::no_profile";
    // --- credentials
    /// A credentials file sets the same key twice.
    CREDENTIALS_DUPLICATE_KEY = "runner::credentials::duplicate_key";
    /// … appeared while runner was writing it; not overwriting it.
    CREDENTIALS_EXISTS = "runner::credentials::exists";
    /// The folder meant to hold the credentials file does not exist.
    CREDENTIALS_FOLDER_MISSING = "runner::credentials::folder_missing";
    /// A line of the credentials file is not `key=value`.
    CREDENTIALS_INVALID_LINE = "runner::credentials::invalid_line";
    /// The credentials file's `otpauth=` line is not a usable TOTP URI.
    CREDENTIALS_INVALID_OTPAUTH = "runner::credentials::invalid_otpauth";
    /// A time in the credentials file is not RFC 3339 (2025-06-01T10:00:00Z).
    CREDENTIALS_INVALID_TIME = "runner::credentials::invalid_time";
    /// A value to be written to the credentials file would break its line format (a newline, for example).
    CREDENTIALS_INVALID_VALUE = "runner::credentials::invalid_value";
    /// Reading or writing the credentials file failed.
    CREDENTIALS_IO = "runner::credentials::io";
    /// … is a folder, not a file.
    CREDENTIALS_IS_FOLDER = "runner::credentials::is_folder";
    /// … is an older runner TOTP secret file, not a credentials file.
    CREDENTIALS_LEGACY_TOTP_FILE = "runner::credentials::legacy_totp_file";
    /// There is no credentials file at ….
    CREDENTIALS_MISSING = "runner::credentials::missing";
    /// The credentials file lacks a key runner needs.
    CREDENTIALS_MISSING_KEY = "runner::credentials::missing_key";
    /// The credentials file was written by a newer runner; this one reads version 1.
    CREDENTIALS_NEWER_VERSION = "runner::credentials::newer_version";
    /// … has no TOTP authenticator yet.
    CREDENTIALS_NO_TOTP = "runner::credentials::no_totp";
    /// What should be the credentials file's folder is not a folder.
    CREDENTIALS_NOT_A_FOLDER = "runner::credentials::not_a_folder";
    /// The credentials path is a FIFO, socket or device, not a regular file.
    CREDENTIALS_NOT_REGULAR = "runner::credentials::not_regular";
    /// The file is not a runner credentials file, so runner does not read or replace it.
    CREDENTIALS_NOT_RUNNER_FILE = "runner::credentials::not_runner_file";
    /// The credentials file is not UTF-8 text.
    CREDENTIALS_NOT_TEXT = "runner::credentials::not_text";
    /// The credentials file belongs to another Unix user.
    CREDENTIALS_OTHER_OWNER = "runner::credentials::other_owner";
    /// The credentials file holds another Salesforce user's credentials.
    CREDENTIALS_OTHER_USER = "runner::credentials::other_user";
    /// The credentials file can be read or written by the group or others.
    CREDENTIALS_PERMISSIONS = "runner::credentials::permissions";
    /// The credentials path is a symbolic link.
    CREDENTIALS_SYMLINK = "runner::credentials::symlink";
    /// The credentials file is larger than runner reads.
    CREDENTIALS_TOO_LARGE = "runner::credentials::too_large";
    // --- init
    /// Not overwriting existing files: ….
    INIT_EXISTS = "runner::init::exists";
    /// runner init could not create a folder or write a file.
    INIT_IO = "runner::init::io";
    /// … is not a regular file; runner init does not replace it.
    INIT_NOT_A_FILE = "runner::init::not_a_file";
    /// The place runner init should write into is not a folder.
    INIT_NOT_A_FOLDER = "runner::init::not_a_folder";
    /// … is a symbolic link; runner init does not write through links.
    INIT_SYMLINK = "runner::init::symlink";
    // --- journal
    /// The journal path is not a regular file (a folder or a device, for example).
    JOURNAL_NOT_A_FILE = "runner::journal::not_a_file";
    /// The journal cannot be opened for appending.
    JOURNAL_OPEN = "runner::journal::open";
    /// Refusing the journal …: it is a symbolic link.
    JOURNAL_SYMLINK = "runner::journal::symlink";
    /// Writing to the journal failed part-way (a full disk, for example).
    JOURNAL_WRITE = "runner::journal::write";
    // --- mfa
    /// The running user lacks "Manage Multi-Factor Authentication in API" (PermissionsManageTwoFactor).
    MFA_PERMISSION_MISSING = "runner::mfa::permission_missing";
    // --- plan
    /// Planning found several problems before the run's first write; nothing was written.
    PLAN_CANNOT_FINISH = "runner::plan::cannot_finish";
    // --- play
    /// Several orgs of one run would share a credentials file.
    PLAY_SHARED_CREDENTIALS_FILE = "runner::play::shared_credentials_file";
    // --- playbook
    /// A step or org call was given an argument of the wrong name or type.
    PLAYBOOK_BAD_ARGUMENT = "runner::playbook::bad_argument";
    /// A closure that captures values is used where it could outlive its call (or curry is used).
    PLAYBOOK_CLOSURE_CAPTURE = "runner::playbook::closure_capture";
    /// The playbook called exit() with a failing value.
    PLAYBOOK_EXIT = "runner::playbook::exit";
    /// Modules import each other in a circle.
    PLAYBOOK_IMPORT_CYCLE = "runner::playbook::import_cycle";
    /// The playbook hit a safety limit: operations, depth or sizes.
    PLAYBOOK_LIMIT = "runner::playbook::limit";
    /// The playbook needs a --var that was not given.
    PLAYBOOK_MISSING_VAR = "runner::playbook::missing_var";
    /// An import is in no folder of the module search path, or the file found is refused (a link out, a folder).
    PLAYBOOK_MODULE_NOT_FOUND = "runner::playbook::module_not_found";
    /// … is a folder, not a playbook file.
    PLAYBOOK_NOT_FOUND = "runner::playbook::not_found";
    /// A playbook may not define a function named `…`.
    PLAYBOOK_RESERVED_NAME = "runner::playbook::reserved_name";
    /// The playbook failed at run time in the Rhai engine.
    PLAYBOOK_RUNTIME = "runner::playbook::runtime";
    /// The playbook calls sleep, which runner does not allow.
    PLAYBOOK_SLEEP = "runner::playbook::sleep";
    /// A playbook-defined step (step(name, || …)) failed.
    PLAYBOOK_STEP_FAILED = "runner::playbook::step_failed";
    /// The playbook (or a module) does not parse.
    PLAYBOOK_SYNTAX = "runner::playbook::syntax";
    /// The playbook threw a value of its own.
    PLAYBOOK_THROWN = "runner::playbook::thrown";
    /// The playbook ran past its deadline (--timeout).
    PLAYBOOK_TIMEOUT = "runner::playbook::timeout";
    /// A call names a function or step that does not exist, or passes a playbook or module function the wrong number of arguments.
    PLAYBOOK_UNKNOWN_FUNCTION = "runner::playbook::unknown_function";
    /// The playbook uses a variable it never declared.
    PLAYBOOK_UNKNOWN_VARIABLE = "runner::playbook::unknown_variable";
    // --- report
    /// The folder a report file (--junit, --summary, report --out) would go in does not exist; checked before any org is touched.
    REPORT_FOLDER_MISSING = "runner::report::folder_missing";
    /// A report file (--junit, --summary) is a symbolic link, a folder or not a regular file; runner does not write through it.
    REPORT_NOT_A_FILE = "runner::report::not_a_file";
    /// A report file (--junit, --summary) could not be written.
    REPORT_WRITE = "runner::report::write";
    // --- sandbox
    /// The run's deadline passed while the playbook ran.
    SANDBOX_DEADLINE = "runner::sandbox::deadline";
    /// The run's shared operation budget ran out.
    SANDBOX_OPERATIONS = "runner::sandbox::operations";
    // --- set_defaults
    /// An object has several active record types and no default was given.
    SET_DEFAULTS_DEFAULT_NEEDED = "runner::set_defaults::default_needed";
    /// The profile whose defaults are set was not found.
    SET_DEFAULTS_NO_PROFILE = "runner::set_defaults::no_profile";
    /// A default record type is given for an object this org does not have.
    SET_DEFAULTS_UNKNOWN_OBJECT = "runner::set_defaults::unknown_object";
    /// A default names a record type the object does not have, or one that is inactive.
    SET_DEFAULTS_UNKNOWN_RECORD_TYPE = "runner::set_defaults::unknown_record_type";
    // --- set_password
    /// The running user may not set another user's password (Manage Users).
    SET_PASSWORD_ACCESS = "runner::set_password::access";
    /// Salesforce accepted the password but …'s LastPasswordChangeDate is empty.
    SET_PASSWORD_NOT_CONFIRMED = "runner::set_password::not_confirmed";
    /// There is neither a credentials file nor a terminal to keep the password in.
    SET_PASSWORD_NOWHERE_TO_KEEP = "runner::set_password::nowhere_to_keep";
    /// The org's password policy refused the password.
    SET_PASSWORD_POLICY = "runner::set_password::policy";
    /// The operating system's random generator failed.
    SET_PASSWORD_RANDOM = "runner::set_password::random";
    // --- sf
    /// Salesforce refused the request with its own error code.
    SF_API = "runner::sf::api";
    /// An answer was larger than runner's cap on one response body.
    SF_BODY_TOO_LARGE = "runner::sf::body_too_large";
    /// Invalid client configuration: ….
    SF_CONFIG = "runner::sf::config";
    /// An answer had no body where Salesforce's API always sends one.
    SF_EMPTY_BODY = "runner::sf::empty_body";
    /// Salesforce or the connection failed in a way runner has no more specific code for.
    SF_ERROR = "runner::sf::error";
    /// Refusing to send credentials over plain http to ….
    SF_INSECURE_URL = "runner::sf::insecure_url";
    /// An answer claimed to be JSON but does not parse.
    SF_INVALID_JSON = "runner::sf::invalid_json";
    /// An object, field or record name given to an org call is not a valid API name.
    SF_INVALID_NAME = "runner::sf::invalid_name";
    /// A path given to an org call is not a Salesforce API path under /services/.
    SF_INVALID_PATH = "runner::sf::invalid_path";
    /// An instance or login URL is not a valid URL.
    SF_INVALID_URL = "runner::sf::invalid_url";
    /// A create reported success but gave no record id.
    SF_MISSING_ID = "runner::sf::missing_id";
    /// The token endpoint refused to issue a token.
    SF_OAUTH = "runner::sf::oauth";
    /// A query's nextRecordsUrl came back to a page already read.
    SF_PAGINATION_LOOP = "runner::sf::pagination_loop";
    /// Salesforce answered HTTP 429 (too many requests) and the retries ran out.
    SF_RATE_LIMITED = "runner::sf::rate_limited";
    /// The org's daily API request limit is exceeded….
    SF_REQUEST_LIMIT = "runner::sf::request_limit";
    /// The access token is invalid or has expired and could not be refreshed.
    SF_SESSION_INVALID = "runner::sf::session_invalid";
    /// The Metadata API answered with a SOAP fault.
    SF_SOAP = "runner::sf::soap";
    /// A request got no answer within the timeout.
    SF_TIMEOUT = "runner::sf::timeout";
    /// The TLS handshake failed (an untrusted certificate or a proxy, for example).
    SF_TLS = "runner::sf::tls";
    /// A query has more pages than runner will read.
    SF_TOO_MANY_PAGES = "runner::sf::too_many_pages";
    /// A request failed below HTTP (connection refused, reset, DNS).
    SF_TRANSPORT = "runner::sf::transport";
    /// Salesforce answered HTTP 503 and the retries ran out.
    SF_UNAVAILABLE = "runner::sf::unavailable";
    /// The answer is not Salesforce's API (an HTML page from a proxy or login page, for example).
    SF_UNEXPECTED_RESPONSE = "runner::sf::unexpected_response";
    /// The answer is JSON but not the shape Salesforce documents for that call.
    SF_UNEXPECTED_SHAPE = "runner::sf::unexpected_shape";
    // --- sim
    /// The simulated org could not write or read its self-signed certificate.
    SIM_CERT_IO = "runner::sim::cert_io";
    /// … is not a regular file; not replacing it with the certificate.
    SIM_CERT_NOT_A_FILE = "runner::sim::cert_not_a_file";
    /// … is a symbolic link; runner sim serve does not write the certificate through links.
    SIM_CERT_SYMLINK = "runner::sim::cert_symlink";
    /// runner sim serve --config-out could not write the fleet's runner.toml or a secret file beside it.
    SIM_FLEET_IO = "runner::sim::fleet_io";
    /// … is there and was not written by runner sim serve; --config-out does not replace it.
    SIM_FLEET_NOT_OURS = "runner::sim::fleet_not_ours";
    /// … is a symbolic link; runner sim serve --config-out does not write through links.
    SIM_FLEET_SYMLINK = "runner::sim::fleet_symlink";
    // --- step
    /// The step asked for the read `…`, which its observe does not declare.
    STEP_UNDECLARED_READ = "runner::step::undeclared_read";
    /// The user a step works on does not exist (and no earlier step plans to create it).
    STEP_USER_NOT_FOUND = "runner::step::user_not_found";
    // --- swap_user
    /// The user has no UserLogin row, so its frozen state cannot be read or changed.
    SWAP_USER_NO_LOGIN = "runner::swap_user::no_login";
    /// The new sync user cannot sign in to StoreConnect yet (no password, no authenticator, inactive, …).
    SWAP_USER_NOT_READY = "runner::swap_user::not_ready";
    /// … is the user StoreConnect is configured with; it is not retired.
    SWAP_USER_RETIRE_CONFIGURED = "runner::swap_user::retire_configured";
    // --- target
    /// The CA certificate file named for the org cannot be read.
    TARGET_CA_CERT = "runner::target::ca_cert";
    /// The CA certificate file holds no usable PEM certificate.
    TARGET_CA_CERT_INVALID = "runner::target::ca_cert_invalid";
    /// The org could not be reached or authenticated.
    TARGET_CONNECT = "runner::target::connect";
    /// SF_ACCESS_TOKEN is not set, and target … needs an access token.
    TARGET_NO_TOKEN = "runner::target::no_token";
    /// Unknown simulated-org scenario `…`.
    TARGET_SCENARIO = "runner::target::scenario";
    /// The sf CLI failed when asked for the org's token.
    TARGET_SF_FAILED = "runner::target::sf_failed";
    /// The sf CLI answered but gave no usable access token.
    TARGET_SF_NO_TOKEN = "runner::target::sf_no_token";
    /// The sf CLI is not installed or not on PATH.
    TARGET_SF_NOT_FOUND = "runner::target::sf_not_found";
    /// The sf CLI did not answer in time.
    TARGET_SF_TIMEOUT = "runner::target::sf_timeout";
    /// The simulated org could not start.
    TARGET_SIM = "runner::target::sim";
    /// `…` is not a target runner knows.
    TARGET_UNKNOWN = "runner::target::unknown";
    /// No named org, sf alias or URL matches the --org given.
    TARGET_UNKNOWN_ORG = "runner::target::unknown_org";
    /// The --org URL … holds a user name or password; refusing it.
    TARGET_URL_CREDENTIALS = "runner::target::url_credentials";
    // --- totp
    /// Character … of the TOTP secret is not a base32 character (A-Z, 2-7).
    TOTP_BASE32_CHARACTER = "runner::totp::base32_character";
    /// A TOTP secret must be 32 base32 characters (20 bytes); this one has ….
    TOTP_BASE32_LENGTH = "runner::totp::base32_length";
    /// … already exists; not overwriting it.
    TOTP_FILE_EXISTS = "runner::totp::file_exists";
    /// A line of a TOTP secret file does not hold a valid secret.
    TOTP_FILE_INVALID_LINE = "runner::totp::file_invalid_line";
    /// A file holds two different TOTP secrets.
    TOTP_FILE_MISMATCH = "runner::totp::file_mismatch";
    /// … does not contain a TOTP secret.
    TOTP_FILE_NO_SECRET = "runner::totp::file_no_secret";
    /// A file holding a TOTP secret is readable by group or others.
    TOTP_FILE_PERMISSIONS = "runner::totp::file_permissions";
    /// A TOTP secret file could not be read or written.
    TOTP_IO = "runner::totp::io";
    /// Could not render the otpauth URI as a QR code: ….
    TOTP_QR = "runner::totp::qr";
    /// Could not get random bytes from the operating system for a new TOTP secret.
    TOTP_RANDOM = "runner::totp::random";
    /// Unsupported otpauth URI: ….
    TOTP_UNSUPPORTED_URI = "runner::totp::unsupported_uri";
    // --- trust
    /// `runner trust` could not write its list of trusted runner.toml files in the state directory, or refused a path it cannot store.
    TRUST_WRITE = "runner::trust::write";
    // --- verify
    /// Salesforce accepted the secret but TwoFactorMethodsInfo does not show TOTP for ….
    VERIFY_NOT_CONFIRMED = "runner::verify::not_confirmed";
    /// There is neither a credentials file nor a terminal to keep the TOTP secret in.
    VERIFY_NOWHERE_TO_SHOW_SECRET = "runner::verify::nowhere_to_show_secret";
    /// The operating system's random generator failed.
    VERIFY_RANDOM = "runner::verify::random";
}
