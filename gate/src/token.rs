//! Signed tickets (a place in the queue) and passes (an admission), HMAC-SHA256.
//!
//! A token is compact, URL-safe ASCII, so that it travels in a query parameter, a cookie or a
//! form field without escaping:
//!
//! ```text
//! t1.<seq>.<issued_s>.<expires_s>.<mac>     ticket
//! p1.<id>.<issued_s>.<expires_s>.<mac>      pass
//! ```
//!
//! Times are whole seconds since the Unix epoch; `<mac>` is the unpadded base64url HMAC-SHA256
//! of everything before the last dot, kind prefix included, so a ticket can never be presented
//! as a pass nor the other way round.
//!
//! ```
//! use waitroom::time::Timestamp;
//! use waitroom_gate::token::{verify_pass, Signer, TokenError};
//!
//! let secret = b"0123456789abcdef0123456789abcdef";
//! let now = Timestamp::from_millis(1_700_000_000_000);
//! let signer = Signer::new(secret);
//! let pass = signer.sign_pass(7, now, Timestamp::from_millis(1_700_000_300_000));
//! assert_eq!(verify_pass(secret, &pass, now).unwrap().id, 7);
//! assert_eq!(signer.verify_ticket(&pass, now), Err(TokenError::WrongKind));
//! ```

use std::fmt;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use waitroom::time::Timestamp;

type HmacSha256 = Hmac<Sha256>;

/// Longer strings are refused before any parsing (a real token is under 100 bytes).
const MAX_TOKEN_LEN: usize = 256;
const TICKET_KIND: &str = "t1";
const PASS_KIND: &str = "p1";

/// Why a token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenError {
    /// Not a token of ours: wrong shape, wrong characters, too long.
    Malformed,
    /// Well formed, but the signature does not match (tampered, or signed with another key).
    BadSignature,
    /// Authentic, but past its expiry time.
    Expired,
    /// Authentic, but a ticket where a pass was expected or the other way round.
    WrongKind,
}

impl fmt::Display for TokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TokenError::Malformed => "malformed token",
            TokenError::BadSignature => "bad signature",
            TokenError::Expired => "token expired",
            TokenError::WrongKind => {
                "wrong kind of token (ticket and pass are not interchangeable)"
            }
        })
    }
}

impl std::error::Error for TokenError {}

/// What a verified ticket says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TicketClaims {
    /// The queue sequence number.
    pub seq: u64,
    /// When it was signed (whole seconds).
    pub issued: Timestamp,
    /// When it stops being valid (whole seconds).
    pub expires: Timestamp,
}

/// What a verified pass says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PassClaims {
    /// The admission's identifier (the ticket's sequence number when there was one).
    pub id: u64,
    /// When it was signed (whole seconds).
    pub issued: Timestamp,
    /// When it stops being valid (whole seconds).
    pub expires: Timestamp,
}

impl PassClaims {
    /// Time left before the pass expires.
    pub fn expires_in(&self, now: Timestamp) -> Duration {
        self.expires.saturating_duration_since(now)
    }
}

/// Signs and verifies tokens with one secret.
#[derive(Clone)]
pub struct Signer {
    /// Keyed once; cloned per token, which is cheaper than re-deriving the key pads.
    mac: HmacSha256,
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print key material.
        f.write_str("Signer { .. }")
    }
}

impl Signer {
    /// A signer for `secret` (any length works; the gate requires at least 32 bytes).
    pub fn new(secret: &[u8]) -> Self {
        let mac = HmacSha256::new_from_slice(secret).expect("HMAC accepts keys of any length");
        Signer { mac }
    }

    /// A ticket for place `seq`, valid until `expires`.
    pub fn sign_ticket(&self, seq: u64, issued: Timestamp, expires: Timestamp) -> String {
        self.sign(TICKET_KIND, seq, issued, expires)
    }

    /// A pass for admission `id`, valid until `expires`.
    pub fn sign_pass(&self, id: u64, issued: Timestamp, expires: Timestamp) -> String {
        self.sign(PASS_KIND, id, issued, expires)
    }

    /// Checks a ticket's shape, signature, kind and expiry, in that order.
    pub fn verify_ticket(&self, token: &str, now: Timestamp) -> Result<TicketClaims, TokenError> {
        let (number, issued, expires) = self.verify(TICKET_KIND, token, now)?;
        Ok(TicketClaims { seq: number, issued, expires })
    }

    /// Checks a pass's shape, signature, kind and expiry, in that order.
    pub fn verify_pass(&self, token: &str, now: Timestamp) -> Result<PassClaims, TokenError> {
        let (number, issued, expires) = self.verify(PASS_KIND, token, now)?;
        Ok(PassClaims { id: number, issued, expires })
    }

    fn sign(&self, kind: &str, number: u64, issued: Timestamp, expires: Timestamp) -> String {
        // Round the expiry up so that a token never expires before the time it was meant for.
        let issued_s = issued.as_millis() / 1000;
        let expires_s = expires.as_millis().div_ceil(1000);
        let mut token = format!("{kind}.{number}.{issued_s}.{expires_s}");
        let mut mac = self.mac.clone();
        mac.update(token.as_bytes());
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(mac.finalize().into_bytes(), &mut token);
        token
    }

    fn verify(
        &self,
        kind: &str,
        token: &str,
        now: Timestamp,
    ) -> Result<(u64, Timestamp, Timestamp), TokenError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(TokenError::Malformed);
        }
        let (signed, mac_b64) = token.rsplit_once('.').ok_or(TokenError::Malformed)?;
        let mut fields = signed.split('.');
        let (Some(found_kind), Some(number), Some(issued), Some(expires), None) =
            (fields.next(), fields.next(), fields.next(), fields.next(), fields.next())
        else {
            return Err(TokenError::Malformed);
        };
        if found_kind != TICKET_KIND && found_kind != PASS_KIND {
            return Err(TokenError::Malformed);
        }
        let number = parse_decimal(number)?;
        let issued = parse_decimal(issued)?;
        let expires = parse_decimal(expires)?;
        let tag = URL_SAFE_NO_PAD.decode(mac_b64).map_err(|_| TokenError::Malformed)?;
        let mut mac = self.mac.clone();
        mac.update(signed.as_bytes());
        // Constant-time comparison: the timing of a refusal says nothing about the right tag.
        mac.verify_slice(&tag).map_err(|_| TokenError::BadSignature)?;
        if found_kind != kind {
            return Err(TokenError::WrongKind);
        }
        let expires = Timestamp::from_millis(expires.saturating_mul(1000));
        if now >= expires {
            return Err(TokenError::Expired);
        }
        Ok((number, Timestamp::from_millis(issued.saturating_mul(1000)), expires))
    }
}

/// Verifies a pass for an ENT's login handler: the one call it needs, with the gate's secret.
///
/// ```
/// # use waitroom::time::Timestamp;
/// # use waitroom_gate::token::{verify_pass, TokenError};
/// let now = Timestamp::from_millis(1_700_000_000_000);
/// assert_eq!(verify_pass(b"a secret of at least thirty-two bytes", "p1.x", now), Err(TokenError::Malformed));
/// ```
pub fn verify_pass(secret: &[u8], pass: &str, now: Timestamp) -> Result<PassClaims, TokenError> {
    Signer::new(secret).verify_pass(pass, now)
}

/// A canonical unsigned decimal: digits only, no sign, no leading zero, no overflow.
fn parse_decimal(s: &str) -> Result<u64, TokenError> {
    let canonical =
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'));
    if !canonical {
        return Err(TokenError::Malformed);
    }
    s.parse().map_err(|_| TokenError::Malformed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";
    const NOW: Timestamp = Timestamp::from_millis(1_700_000_000_000);
    const LATER: Timestamp = Timestamp::from_millis(1_700_000_120_000);

    #[test]
    fn ticket_round_trips() {
        let signer = Signer::new(SECRET);
        let ticket = signer.sign_ticket(42, NOW, LATER);
        assert!(ticket.starts_with("t1.42.1700000000.1700000120."), "{ticket}");
        let claims = signer.verify_ticket(&ticket, NOW).unwrap();
        assert_eq!(claims, TicketClaims { seq: 42, issued: NOW, expires: LATER });
    }

    #[test]
    fn pass_round_trips_through_the_public_function() {
        let pass = Signer::new(SECRET).sign_pass(u64::MAX, NOW, LATER);
        let claims = verify_pass(SECRET, &pass, NOW).unwrap();
        assert_eq!(claims.id, u64::MAX);
        assert_eq!(claims.expires_in(NOW), Duration::from_secs(120));
    }

    #[test]
    fn any_single_changed_character_is_refused() {
        let signer = Signer::new(SECRET);
        let ticket = signer.sign_ticket(42, NOW, LATER);
        let alphabet = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_.";
        for i in 0..ticket.len() {
            for c in alphabet.chars() {
                let mut changed = ticket.clone().into_bytes();
                if changed[i] == c as u8 {
                    continue;
                }
                changed[i] = c as u8;
                let changed = String::from_utf8(changed).unwrap();
                assert!(signer.verify_ticket(&changed, NOW).is_err(), "{changed} was accepted");
            }
        }
    }

    #[test]
    fn a_token_signed_with_another_key_is_refused() {
        let ticket = Signer::new(b"another secret, also 32 bytes long").sign_ticket(1, NOW, LATER);
        assert_eq!(Signer::new(SECRET).verify_ticket(&ticket, NOW), Err(TokenError::BadSignature));
    }

    #[test]
    fn a_token_expires_at_its_expiry_second() {
        let signer = Signer::new(SECRET);
        let ticket = signer.sign_ticket(1, NOW, LATER);
        let just_before = Timestamp::from_millis(LATER.as_millis() - 1);
        assert!(signer.verify_ticket(&ticket, just_before).is_ok());
        assert_eq!(signer.verify_ticket(&ticket, LATER), Err(TokenError::Expired));
    }

    #[test]
    fn tickets_and_passes_are_not_interchangeable() {
        let signer = Signer::new(SECRET);
        let ticket = signer.sign_ticket(1, NOW, LATER);
        let pass = signer.sign_pass(1, NOW, LATER);
        assert_eq!(signer.verify_pass(&ticket, NOW), Err(TokenError::WrongKind));
        assert_eq!(signer.verify_ticket(&pass, NOW), Err(TokenError::WrongKind));
        // Relabelling the kind breaks the signature, since the kind is signed.
        let relabelled = pass.replacen("p1", "t1", 1);
        assert_eq!(signer.verify_ticket(&relabelled, NOW), Err(TokenError::BadSignature));
    }

    #[test]
    fn malformed_shapes_are_refused() {
        let signer = Signer::new(SECRET);
        for garbage in [
            "",
            ".",
            "t1",
            "t1.1.2.3",
            "t1.1.2.3.4.5",
            "x1.1.2.3.AAAA",
            "t1.01.2.3.AAAA",
            "t1.+1.2.3.AAAA",
            "t1.1.2.99999999999999999999.AAAA",
            "t1.1.2.3.!!!",
        ] {
            assert_eq!(
                signer.verify_ticket(garbage, NOW),
                Err(TokenError::Malformed),
                "{garbage:?}"
            );
        }
        assert_eq!(signer.verify_ticket(&"a".repeat(10_000), NOW), Err(TokenError::Malformed));
    }

    proptest! {
        #[test]
        fn garbage_never_panics_nor_verifies(s in "\\PC{0,300}") {
            prop_assert!(Signer::new(SECRET).verify_ticket(&s, NOW).is_err());
            prop_assert!(verify_pass(SECRET, &s, NOW).is_err());
        }

        #[test]
        fn token_shaped_garbage_never_verifies(
            kind in "(t1|p1)", a in 0u64.., b in 0u64.., c in 0u64.., mac in "[A-Za-z0-9_-]{43}"
        ) {
            let s = format!("{kind}.{a}.{b}.{c}.{mac}");
            prop_assert!(Signer::new(SECRET).verify_ticket(&s, NOW).is_err());
        }
    }
}
