//! The device a flow starts from and a session belongs to, and the name rules.

use std::fmt;

use serde::{Deserialize, Serialize};

#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    Linux,
    Macos,
    Windows,
    Android,
    Ios,
    Web,
}

impl Platform {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Linux => "linux",
            Self::Macos => "macos",
            Self::Windows => "windows",
            Self::Android => "android",
            Self::Ios => "ios",
            Self::Web => "web",
        }
    }

    /// How a person names the platform, e.g. in the sign-in email.
    pub fn display_name(self) -> &'static str {
        match self {
            Self::Linux => "Linux",
            Self::Macos => "macOS",
            Self::Windows => "Windows",
            Self::Android => "Android",
            Self::Ios => "iOS",
            Self::Web => "the web",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        serde_json::from_value(serde_json::Value::String(s.to_owned())).ok()
    }
}

#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum AppKind {
    Desktop,
    Web,
    Mobile,
}

impl AppKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Desktop => "desktop",
            Self::Web => "web",
            Self::Mobile => "mobile",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        serde_json::from_value(serde_json::Value::String(s.to_owned())).ok()
    }
}

/// Most characters a device name, display name or version may have.
pub const MAX_NAME_CHARS: usize = 64;

/// Why a name or version was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameError {
    Empty,
    TooLong,
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("must not be empty"),
            Self::TooLong => write!(f, "must be at most {MAX_NAME_CHARS} characters"),
        }
    }
}

/// Trims a name and checks it holds 1–64 characters.
pub fn normalize_name(raw: &str) -> Result<String, NameError> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(NameError::Empty);
    }
    if trimmed.chars().count() > MAX_NAME_CHARS {
        return Err(NameError::TooLong);
    }
    Ok(trimmed.to_owned())
}

/// The device a flow was started from and a session belongs to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Device {
    /// Trimmed, then 1–64 characters.
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub name: String,
    pub platform: Platform,
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 64))]
    pub os_version: String,
    pub app: AppKind,
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 64))]
    pub app_version: String,
}

impl Device {
    /// The same device with its name trimmed, or which field is wrong and why.
    pub fn normalized(&self) -> Result<Device, (&'static str, NameError)> {
        let name = normalize_name(&self.name).map_err(|e| ("device.name", e))?;
        let version = |field: &'static str, v: &str| {
            if v.is_empty() {
                Err((field, NameError::Empty))
            } else if v.chars().count() > MAX_NAME_CHARS {
                Err((field, NameError::TooLong))
            } else {
                Ok(v.to_owned())
            }
        };
        Ok(Device {
            name,
            platform: self.platform,
            os_version: version("device.os_version", &self.os_version)?,
            app: self.app,
            app_version: version("device.app_version", &self.app_version)?,
        })
    }
}
