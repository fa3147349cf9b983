//! Another client of the account — a phone, a browser — signing in over
//! HTTP, for the journeys and the benchmarks: latch-testkit's sign-in.

/// A sign-in started over HTTP (`HttpFlow::start`, then `finish`): its flow
/// and the PKCE verifier that finishes it.
pub use latch_testkit::Pending as HttpFlow;
/// A device signed in over HTTP.
pub use latch_testkit::Signed as HttpDevice;
