//! The sign-in state machine. Transitions that need the network live in
//! `client.rs`; what is legal from which state is decided here, so an
//! illegal state can't be written and a refusal changes nothing.

use chrono::{DateTime, Utc};
use latch_protocol::{Account, FlowId, Session, SessionToken};
use serde::{Deserialize, Serialize};

use crate::deep_link::DeepLink;
use crate::error::ClientError;
use crate::view::SignedOutNotice;

/// A sign-in waiting for its link or code. Not secret: the verifier that
/// completes it lives in the secret store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingFlow {
    pub email: String,
    pub flow_id: FlowId,
    pub expires_at: DateTime<Utc>,
    pub resend_after: DateTime<Utc>,
    pub device_name: String,
}

// One value of this exists at a time; boxing the big variant would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum SignInState {
    NeedsServer,
    SignedOut {
        notice: Option<SignedOutNotice>,
    },
    AwaitingLink(PendingFlow),
    SignedIn {
        account: Account,
        session: Session,
        token: SessionToken,
    },
}

impl SignInState {
    /// A new link may be asked for when signed out or already waiting.
    pub fn can_request_link(&self) -> Result<(), ClientError> {
        match self {
            Self::NeedsServer => Err(ClientError::InvalidServer(
                "Set the server address first.".into(),
            )),
            Self::SignedIn { .. } => Err(ClientError::InvalidRequest(
                "You're already signed in.".into(),
            )),
            Self::SignedOut { .. } | Self::AwaitingLink(_) => Ok(()),
        }
    }

    pub fn pending(&self) -> Option<&PendingFlow> {
        match self {
            Self::AwaitingLink(pending) => Some(pending),
            _ => None,
        }
    }

    /// The flow a typed code completes.
    pub fn flow_for_code(&self, now: DateTime<Utc>) -> Result<&PendingFlow, ClientError> {
        let pending = self.waiting()?;
        if now >= pending.expires_at {
            return Err(ClientError::FlowExpired);
        }
        Ok(pending)
    }

    /// Accepts a deep link only for the flow this device started and still
    /// waits on; anything else is refused and changes nothing.
    pub fn flow_for_link(
        &self,
        link: &DeepLink,
        now: DateTime<Utc>,
    ) -> Result<&PendingFlow, ClientError> {
        let pending = self.waiting()?;
        if pending.flow_id != link.flow_id {
            return Err(ClientError::NotPending(
                "This link is from an older or different sign-in request. Use the newest email, or send a new link from here.".into(),
            ));
        }
        if now >= pending.expires_at {
            return Err(ClientError::FlowExpired);
        }
        Ok(pending)
    }

    fn waiting(&self) -> Result<&PendingFlow, ClientError> {
        match self {
            Self::AwaitingLink(pending) => Ok(pending),
            Self::SignedIn { .. } => Err(ClientError::NotPending(
                "You're already signed in. To sign in as someone else, log out first.".into(),
            )),
            Self::NeedsServer | Self::SignedOut { .. } => Err(ClientError::NotPending(
                "This sign-in link wasn't requested from this Latch. Enter your email here to get a new one.".into(),
            )),
        }
    }

    pub fn signed_in(&self) -> Result<(&Account, &Session, &SessionToken), ClientError> {
        match self {
            Self::SignedIn {
                account,
                session,
                token,
            } => Ok((account, session, token)),
            _ => Err(ClientError::NotSignedIn),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending(flow: &str, expires: &str) -> SignInState {
        SignInState::AwaitingLink(PendingFlow {
            email: "a@b.co".into(),
            flow_id: FlowId(flow.into()),
            expires_at: expires.parse().unwrap(),
            resend_after: expires.parse().unwrap(),
            device_name: "Laptop".into(),
        })
    }

    fn link(flow: &str) -> DeepLink {
        DeepLink::parse(&format!(
            "app.latch:/auth/callback?flow={flow}&code=ABCD-EFGH"
        ))
        .unwrap()
    }

    #[test]
    fn links_are_accepted_only_for_the_pending_flow_before_it_expires() {
        let now: DateTime<Utc> = "2026-11-27T12:00:00Z".parse().unwrap();
        let state = pending("flw_a", "2026-11-27T12:10:00Z");
        assert_eq!(
            state
                .flow_for_link(&link("flw_a"), now)
                .unwrap()
                .flow_id
                .as_str(),
            "flw_a"
        );
        assert!(matches!(
            state.flow_for_link(&link("flw_b"), now),
            Err(ClientError::NotPending(_))
        ));
        let expired = pending("flw_a", "2026-11-27T12:00:00Z");
        assert_eq!(
            expired.flow_for_link(&link("flw_a"), now).unwrap_err(),
            ClientError::FlowExpired
        );
        assert_eq!(
            expired.flow_for_code(now).unwrap_err(),
            ClientError::FlowExpired
        );
        for other in [
            SignInState::NeedsServer,
            SignInState::SignedOut { notice: None },
        ] {
            assert!(matches!(
                other.flow_for_link(&link("flw_a"), now),
                Err(ClientError::NotPending(_))
            ));
            assert!(matches!(
                other.flow_for_code(now),
                Err(ClientError::NotPending(_))
            ));
        }
    }

    #[test]
    fn links_may_be_requested_only_when_signed_out_or_waiting() {
        assert!(SignInState::SignedOut { notice: None }
            .can_request_link()
            .is_ok());
        assert!(pending("flw_a", "2026-11-27T12:10:00Z")
            .can_request_link()
            .is_ok());
        assert!(matches!(
            SignInState::NeedsServer.can_request_link(),
            Err(ClientError::InvalidServer(_))
        ));
    }
}
