//! The device a flow starts from and a session belongs to, and the name rules.

use serde::{Deserialize, Serialize};

use crate::name::{normalize_name, NameError};

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

/// The device a flow was started from and a session belongs to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Device {
    /// One line of visible text, then 1–64 characters (the name rule of
    /// `docs/protocol.md`, [`normalize_name`]), as are both versions.
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
    /// The same device with its name and versions normalized
    /// ([`normalize_name`]), or which field is wrong and why.
    pub fn normalized(&self) -> Result<Device, (&'static str, NameError)> {
        let name = normalize_name(&self.name).map_err(|e| ("device.name", e))?;
        let version = |field: &'static str, v: &str| normalize_name(v).map_err(|e| (field, e));
        Ok(Device {
            name,
            platform: self.platform,
            os_version: version("device.os_version", &self.os_version)?,
            app: self.app,
            app_version: version("device.app_version", &self.app_version)?,
        })
    }
}
