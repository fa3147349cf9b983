// The app's commands, one list for build.rs's manifest (which `include!`s
// this file) and the crate; a test checks it against the capability.
pub const NAMES: &[&str] = &[
    "connect",
    "get_app_info",
    "get_diagnostics",
    "get_settings",
    "set_server",
    "set_device_name",
    "set_theme",
    "request_link",
    "resend_link",
    "cancel_sign_in",
    "submit_code",
    "list_sessions",
    "rename_session",
    "rename_account",
    "log_out",
    "terminate_session",
    "log_out_others",
    "log_out_everywhere",
    "report_activity",
];
