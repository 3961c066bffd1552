//! Signed tickets (a place in the queue) and passes (an admission), HMAC-SHA256, each bound to
//! the browser it was given to.
//!
//! A token is compact, URL-safe ASCII, so that it travels in a query parameter, a cookie or a
//! form field without escaping:
//!
//! ```text
//! t2.<seq>.<issued_s>.<expires_s>.<told_ms>.<binding>.<mac>     ticket
//! p2.<id>.<issued_s>.<expires_s>.<binding>.<mac>                pass
//! ```
//!
//! Times are since the Unix epoch: whole seconds, except the ticket's told time (when its
//! holder was told to come back), in milliseconds so that it orders the queue after a restart.
//! `<binding>` is a keyed digest of the browser's `waitroom_id` cookie ([`Binding`]); `<mac>` is
//! the unpadded base64url HMAC-SHA256 of everything before the last dot, kind prefix included,
//! so a ticket can never be presented as a pass nor the other way round, and no field can be
//! changed.
//!
//! ```
//! use waitroom::time::Timestamp;
//! use waitroom_gate::browser::BrowserId;
//! use waitroom_gate::token::{verify_pass, Signer, TokenError};
//!
//! let secret = b"0123456789abcdef0123456789abcdef";
//! let now = Timestamp::from_millis(1_700_000_000_000);
//! let browser = BrowserId::from_bytes([7; 16]);
//! let signer = Signer::new(secret);
//! let pass = signer.sign_pass(7, now, Timestamp::from_millis(1_700_000_300_000), signer.binding(&browser));
//! let claims = verify_pass(secret, &pass, Some(&browser), now).unwrap();
//! assert_eq!((claims.id, claims.expires.as_millis()), (7, 1_700_000_300_000));
//! // The same pass from another browser, or from none, is refused.
//! let other = BrowserId::from_bytes([8; 16]);
//! assert_eq!(verify_pass(secret, &pass, Some(&other), now), Err(TokenError::OtherBrowser));
//! assert_eq!(verify_pass(secret, &pass, None, now), Err(TokenError::OtherBrowser));
//! assert_eq!(signer.verify_ticket(&pass, now), Err(TokenError::WrongKind));
//! ```

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use waitroom::time::Timestamp;

use crate::browser::BrowserId;

type HmacSha256 = Hmac<Sha256>;

/// Longer strings are refused before any parsing (a real token is under 150 bytes).
const MAX_TOKEN_LEN: usize = 256;
const TICKET_KIND: &str = "t2";
const PASS_KIND: &str = "p2";
/// Domain separation: a binding is never the MAC of anything a token signs.
const BINDING_PREFIX: &[u8] = b"waitroom_id:";
/// Bytes of a binding (128 bits).
const BINDING_BYTES: usize = 16;

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
    /// Authentic, but presented without the cookie of the browser it was given to.
    OtherBrowser,
    /// Authentic, but already used once by a login handler that asked for single use.
    AlreadyUsed,
}

impl TokenError {
    /// A stable, machine-readable name, for JSON replies.
    pub fn code(self) -> &'static str {
        match self {
            TokenError::Malformed => "malformed",
            TokenError::BadSignature => "bad_signature",
            TokenError::Expired => "expired",
            TokenError::WrongKind => "wrong_kind",
            TokenError::OtherBrowser => "other_browser",
            TokenError::AlreadyUsed => "already_used",
        }
    }
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
            TokenError::OtherBrowser => {
                "bound to another browser (its waitroom_id cookie is missing or different)"
            }
            TokenError::AlreadyUsed => "pass already used",
        })
    }
}

impl std::error::Error for TokenError {}

/// A keyed digest of a browser's identifier, signed into its tickets and passes: it proves
/// which browser a token belongs to without revealing the cookie.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Binding(pub(crate) [u8; BINDING_BYTES]);

impl fmt::Debug for Binding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Binding(..)")
    }
}

impl Binding {
    /// Whether `self` and `other` are the same binding, in constant time.
    pub fn matches(&self, other: &Binding) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

/// What a verified ticket says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TicketClaims {
    /// The queue sequence number.
    pub seq: u64,
    /// When it was signed (whole seconds).
    pub issued: Timestamp,
    /// When it stops being valid (whole seconds).
    pub expires: Timestamp,
    /// When its holder was told to come back (milliseconds).
    pub told: Timestamp,
    /// The browser it was given to.
    pub binding: Binding,
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
    /// The browser it was given to.
    pub binding: Binding,
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

    /// The binding of `browser` under this signer's key.
    pub fn binding(&self, browser: &BrowserId) -> Binding {
        let mut mac = self.mac.clone();
        mac.update(BINDING_PREFIX);
        mac.update(browser.as_str().as_bytes());
        let digest = mac.finalize().into_bytes();
        let mut bytes = [0u8; BINDING_BYTES];
        bytes.copy_from_slice(&digest[..BINDING_BYTES]);
        Binding(bytes)
    }

    /// The HMAC-SHA256 of `parts`, concatenated, under this signer's key: for the other signed
    /// things of the gate (proof-of-work challenges), each with its own prefix.
    pub(crate) fn mac_of(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut mac = self.mac.clone();
        for part in parts {
            mac.update(part);
        }
        mac.finalize().into_bytes().into()
    }

    /// A ticket for place `seq`, told to come back at `told`, valid until `expires`.
    pub fn sign_ticket(
        &self,
        seq: u64,
        issued: Timestamp,
        expires: Timestamp,
        told: Timestamp,
        binding: Binding,
    ) -> String {
        self.sign(TICKET_KIND, seq, issued, expires, Some(told), binding)
    }

    /// A pass for admission `id`, valid until `expires`.
    pub fn sign_pass(
        &self,
        id: u64,
        issued: Timestamp,
        expires: Timestamp,
        binding: Binding,
    ) -> String {
        self.sign(PASS_KIND, id, issued, expires, None, binding)
    }

    /// Checks a ticket's shape, signature, kind and expiry, in that order. The binding is
    /// returned, not checked: the caller compares it with the browser's.
    pub fn verify_ticket(&self, token: &str, now: Timestamp) -> Result<TicketClaims, TokenError> {
        let fields = self.verify(TICKET_KIND, token, now)?;
        Ok(TicketClaims {
            seq: fields.number,
            issued: fields.issued,
            expires: fields.expires,
            told: Timestamp::from_millis(fields.told.unwrap_or(0)),
            binding: fields.binding,
        })
    }

    /// Checks a pass's shape, signature, kind and expiry, in that order, then that `browser`
    /// is the one it was given to.
    pub fn verify_pass(
        &self,
        token: &str,
        browser: Option<&BrowserId>,
        now: Timestamp,
    ) -> Result<PassClaims, TokenError> {
        let fields = self.verify(PASS_KIND, token, now)?;
        let bound = browser.is_some_and(|b| self.binding(b).matches(&fields.binding));
        if !bound {
            return Err(TokenError::OtherBrowser);
        }
        Ok(PassClaims {
            id: fields.number,
            issued: fields.issued,
            expires: fields.expires,
            binding: fields.binding,
        })
    }

    fn sign(
        &self,
        kind: &str,
        number: u64,
        issued: Timestamp,
        expires: Timestamp,
        told: Option<Timestamp>,
        binding: Binding,
    ) -> String {
        // Round the expiry up so that a token never expires before the time it was meant for.
        let issued_s = issued.as_millis() / 1000;
        let expires_s = expires.as_millis().div_ceil(1000);
        let mut token = format!("{kind}.{number}.{issued_s}.{expires_s}.");
        if let Some(told) = told {
            token.push_str(&told.as_millis().to_string());
            token.push('.');
        }
        URL_SAFE_NO_PAD.encode_string(binding.0, &mut token);
        let mut mac = self.mac.clone();
        mac.update(token.as_bytes());
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(mac.finalize().into_bytes(), &mut token);
        token
    }

    fn verify(&self, kind: &str, token: &str, now: Timestamp) -> Result<Fields, TokenError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(TokenError::Malformed);
        }
        let (signed, mac_b64) = token.rsplit_once('.').ok_or(TokenError::Malformed)?;
        let mut fields = signed.split('.');
        let found_kind = fields.next().ok_or(TokenError::Malformed)?;
        let told_field = match found_kind {
            TICKET_KIND => true,
            PASS_KIND => false,
            _ => return Err(TokenError::Malformed),
        };
        let mut decimal = || fields.next().ok_or(TokenError::Malformed).and_then(parse_decimal);
        let number = decimal()?;
        let issued = decimal()?;
        let expires = decimal()?;
        let told = if told_field { Some(decimal()?) } else { None };
        let binding = fields.next().ok_or(TokenError::Malformed)?;
        if fields.next().is_some() {
            return Err(TokenError::Malformed);
        }
        let binding = URL_SAFE_NO_PAD.decode(binding).map_err(|_| TokenError::Malformed)?;
        let binding = Binding(binding.try_into().map_err(|_| TokenError::Malformed)?);
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
        Ok(Fields {
            number,
            issued: Timestamp::from_millis(issued.saturating_mul(1000)),
            expires,
            told,
            binding,
        })
    }
}

/// A verified token's fields.
struct Fields {
    number: u64,
    issued: Timestamp,
    expires: Timestamp,
    told: Option<u64>,
    binding: Binding,
}

/// Verifies a pass for an ENT's login handler: the one call it needs, with the gate's secret
/// and the browser's identifier (the value of the request's `waitroom_id` cookie,
/// [`BrowserId::parse`]). The claims carry the pass's id and expiry; for single use, keep a
/// [`PassVerifier`] instead.
///
/// ```
/// # use waitroom::time::Timestamp;
/// # use waitroom_gate::token::{verify_pass, TokenError};
/// let now = Timestamp::from_millis(1_700_000_000_000);
/// assert_eq!(verify_pass(b"a secret of at least thirty-two bytes", "p2.x", None, now), Err(TokenError::Malformed));
/// ```
pub fn verify_pass(
    secret: &[u8],
    pass: &str,
    browser: Option<&BrowserId>,
    now: Timestamp,
) -> Result<PassClaims, TokenError> {
    Signer::new(secret).verify_pass(pass, browser, now)
}

/// Verifies passes and remembers which ones were used, for a login handler that wants each
/// admission to log in once: [`PassVerifier::consume`] after a successful login refuses every
/// later use of the same pass (and of its copies: they share its id).
///
/// Used passes are remembered in memory until they expire, about 16 bytes each; a restart
/// forgets them (an unexpired pass used before the restart can be used once more).
///
/// ```
/// use waitroom::time::Timestamp;
/// use waitroom_gate::browser::BrowserId;
/// use waitroom_gate::token::{PassVerifier, Signer, TokenError};
///
/// let secret = b"0123456789abcdef0123456789abcdef";
/// let now = Timestamp::from_millis(1_700_000_000_000);
/// let browser = BrowserId::from_bytes([7; 16]);
/// let signer = Signer::new(secret);
/// let pass = signer.sign_pass(7, now, Timestamp::from_millis(1_700_000_300_000), signer.binding(&browser));
/// let passes = PassVerifier::new(secret);
/// assert_eq!(passes.consume(&pass, Some(&browser), now).unwrap().id, 7);
/// assert_eq!(passes.consume(&pass, Some(&browser), now), Err(TokenError::AlreadyUsed));
/// assert_eq!(passes.verify(&pass, Some(&browser), now), Err(TokenError::AlreadyUsed));
/// ```
pub struct PassVerifier {
    signer: Signer,
    used: Mutex<UsedPasses>,
}

impl fmt::Debug for PassVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PassVerifier").finish_non_exhaustive()
    }
}

/// Ids of used passes with their expiry (ms), swept when the map has doubled since the last
/// sweep: O(1) amortised, memory bounded by the passes used within one pass lifetime.
#[derive(Debug, Default)]
struct UsedPasses {
    expires_by_id: HashMap<u64, u64>,
    sweep_at_len: usize,
}

impl PassVerifier {
    /// A verifier for passes signed with `secret`.
    pub fn new(secret: &[u8]) -> Self {
        PassVerifier { signer: Signer::new(secret), used: Mutex::default() }
    }

    /// Checks a pass's signature, binding and expiry ([`Signer::verify_pass`]), not whether it
    /// was used: for a gate whose used passes are kept in a shared store ([`crate::store`]).
    pub fn check(
        &self,
        pass: &str,
        browser: Option<&BrowserId>,
        now: Timestamp,
    ) -> Result<PassClaims, TokenError> {
        self.signer.verify_pass(pass, browser, now)
    }

    /// Checks a pass ([`Signer::verify_pass`]) and that it has not been used.
    pub fn verify(
        &self,
        pass: &str,
        browser: Option<&BrowserId>,
        now: Timestamp,
    ) -> Result<PassClaims, TokenError> {
        let claims = self.signer.verify_pass(pass, browser, now)?;
        if self.lock().expires_by_id.contains_key(&claims.id) {
            return Err(TokenError::AlreadyUsed);
        }
        Ok(claims)
    }

    /// Checks a pass as [`PassVerifier::verify`] does and marks it used: of two calls with the
    /// same pass, even at the same instant, exactly one succeeds.
    pub fn consume(
        &self,
        pass: &str,
        browser: Option<&BrowserId>,
        now: Timestamp,
    ) -> Result<PassClaims, TokenError> {
        let claims = self.signer.verify_pass(pass, browser, now)?;
        let mut used = self.lock();
        if used.expires_by_id.insert(claims.id, claims.expires.as_millis()).is_some() {
            return Err(TokenError::AlreadyUsed);
        }
        if used.expires_by_id.len() >= used.sweep_at_len {
            let now = now.as_millis();
            used.expires_by_id.retain(|_, expires| *expires > now);
            used.sweep_at_len = (used.expires_by_id.len() * 2).max(1024);
        }
        Ok(claims)
    }

    /// Whether the admission `id` has logged in already ([`PassVerifier::consume`]).
    pub fn is_used(&self, id: u64) -> bool {
        self.lock().expires_by_id.contains_key(&id)
    }

    /// Passes remembered as used (unexpired ones, and expired ones not yet swept).
    pub fn used(&self) -> usize {
        self.lock().expires_by_id.len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, UsedPasses> {
        // The map stays consistent whatever panicked while holding it.
        self.used.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A canonical unsigned decimal: digits only, no sign, no leading zero, no overflow.
pub(crate) fn parse_decimal(s: &str) -> Result<u64, TokenError> {
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
    const TOLD: Timestamp = Timestamp::from_millis(1_700_000_060_123);
    const LATER: Timestamp = Timestamp::from_millis(1_700_000_120_000);

    fn browser(n: u8) -> BrowserId {
        BrowserId::from_bytes([n; 16])
    }

    fn bound(n: u8) -> Binding {
        Signer::new(SECRET).binding(&browser(n))
    }

    fn ticket(signer: &Signer) -> String {
        signer.sign_ticket(42, NOW, LATER, TOLD, bound(1))
    }

    #[test]
    fn ticket_round_trips_with_its_told_time_and_binding() {
        let signer = Signer::new(SECRET);
        let ticket = ticket(&signer);
        assert!(ticket.starts_with("t2.42.1700000000.1700000120.1700000060123."), "{ticket}");
        assert!(ticket.len() < 120, "{} bytes", ticket.len());
        let claims = signer.verify_ticket(&ticket, NOW).unwrap();
        assert_eq!(
            claims,
            TicketClaims { seq: 42, issued: NOW, expires: LATER, told: TOLD, binding: bound(1) }
        );
        assert!(!claims.binding.matches(&bound(2)));
    }

    #[test]
    fn a_token_does_not_reveal_the_cookie_it_is_bound_to() {
        let ticket = ticket(&Signer::new(SECRET));
        assert!(!ticket.contains(browser(1).as_str()), "{ticket}");
        // Another key gives another binding for the same browser.
        assert_ne!(
            Signer::new(b"another secret, also 32 bytes long").binding(&browser(1)),
            bound(1)
        );
    }

    #[test]
    fn pass_round_trips_through_the_public_function_only_with_its_browser() {
        let pass = Signer::new(SECRET).sign_pass(u64::MAX, NOW, LATER, bound(1));
        let claims = verify_pass(SECRET, &pass, Some(&browser(1)), NOW).unwrap();
        assert_eq!(claims.id, u64::MAX);
        assert_eq!(claims.expires_in(NOW), Duration::from_secs(120));
        assert_eq!(
            verify_pass(SECRET, &pass, Some(&browser(2)), NOW),
            Err(TokenError::OtherBrowser)
        );
        assert_eq!(verify_pass(SECRET, &pass, None, NOW), Err(TokenError::OtherBrowser));
    }

    #[test]
    fn a_consumed_pass_and_its_copies_are_refused_and_the_memory_stays_bounded() {
        let signer = Signer::new(SECRET);
        let passes = PassVerifier::new(SECRET);
        let pass = signer.sign_pass(9, NOW, LATER, bound(1));
        assert!(passes.verify(&pass, Some(&browser(1)), NOW).is_ok());
        assert!(passes.verify(&pass, Some(&browser(1)), NOW).is_ok(), "verify alone does not use");
        assert_eq!(passes.consume(&pass, Some(&browser(1)), NOW).unwrap().id, 9);
        assert_eq!(passes.consume(&pass, Some(&browser(1)), NOW), Err(TokenError::AlreadyUsed));
        // The same admission re-signed later (a lost reply answered again) is the same id.
        let again = signer.sign_pass(9, TOLD, LATER, bound(1));
        assert_eq!(passes.verify(&again, Some(&browser(1)), NOW), Err(TokenError::AlreadyUsed));
        // A refused pass is not marked used.
        let other = signer.sign_pass(10, NOW, LATER, bound(1));
        assert!(passes.consume(&other, Some(&browser(2)), NOW).is_err());
        assert!(passes.consume(&other, Some(&browser(1)), NOW).is_ok());
        // 100 000 single-use passes, each valid for a second: expired ones are swept.
        for id in 0..100_000u64 {
            let now = Timestamp::from_millis(NOW.as_millis() + id * 10);
            let short = Timestamp::from_millis(now.as_millis() + 1000);
            let pass = signer.sign_pass(1_000 + id, now, short, bound(1));
            passes.consume(&pass, Some(&browser(1)), now).unwrap();
        }
        assert!(passes.used() < 2_500, "{} remembered", passes.used());
    }

    #[test]
    fn any_single_changed_character_is_refused() {
        let signer = Signer::new(SECRET);
        let ticket = ticket(&signer);
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
        let ticket = ticket(&Signer::new(b"another secret, also 32 bytes long"));
        assert_eq!(Signer::new(SECRET).verify_ticket(&ticket, NOW), Err(TokenError::BadSignature));
    }

    #[test]
    fn a_token_expires_at_its_expiry_second() {
        let signer = Signer::new(SECRET);
        let ticket = ticket(&signer);
        let just_before = Timestamp::from_millis(LATER.as_millis() - 1);
        assert!(signer.verify_ticket(&ticket, just_before).is_ok());
        assert_eq!(signer.verify_ticket(&ticket, LATER), Err(TokenError::Expired));
    }

    #[test]
    fn tickets_and_passes_are_not_interchangeable() {
        let signer = Signer::new(SECRET);
        let ticket = ticket(&signer);
        let pass = signer.sign_pass(1, NOW, LATER, bound(1));
        assert_eq!(signer.verify_pass(&ticket, Some(&browser(1)), NOW), Err(TokenError::WrongKind));
        assert_eq!(signer.verify_ticket(&pass, NOW), Err(TokenError::WrongKind));
        // Relabelling the kind breaks the shape or the signature, since the kind is signed.
        let relabelled = pass.replacen("p2", "t2", 1);
        assert!(signer.verify_ticket(&relabelled, NOW).is_err());
    }

    #[test]
    fn malformed_shapes_and_the_earlier_format_are_refused() {
        let signer = Signer::new(SECRET);
        for garbage in [
            "",
            ".",
            "t2",
            "t2.1.2.3.4.AAAAAAAAAAAAAAAAAAAAAA",
            "t2.1.2.3.4.AAAAAAAAAAAAAAAAAAAAAA.AAAA.x",
            "t2.1.2.3.4.AAAA.AAAA",
            "x2.1.2.3.4.AAAAAAAAAAAAAAAAAAAAAA.AAAA",
            "t2.01.2.3.4.AAAAAAAAAAAAAAAAAAAAAA.AAAA",
            "t2.+1.2.3.4.AAAAAAAAAAAAAAAAAAAAAA.AAAA",
            "t2.1.2.99999999999999999999.4.AAAAAAAAAAAAAAAAAAAAAA.AAAA",
            "t2.1.2.3.4.AAAAAAAAAAAAAAAAAAAAAA.!!!",
            "t1.1.2.3.AAAA",
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
            prop_assert!(verify_pass(SECRET, &s, Some(&browser(1)), NOW).is_err());
        }

        #[test]
        fn token_shaped_garbage_never_verifies(
            a in 0u64.., b in 0u64.., c in 0u64.., d in 0u64..,
            bind in "[A-Za-z0-9_-]{22}", mac in "[A-Za-z0-9_-]{43}"
        ) {
            let ticket = format!("t2.{a}.{b}.{c}.{d}.{bind}.{mac}");
            prop_assert!(Signer::new(SECRET).verify_ticket(&ticket, NOW).is_err());
            let pass = format!("p2.{a}.{b}.{c}.{bind}.{mac}");
            prop_assert!(verify_pass(SECRET, &pass, Some(&browser(1)), NOW).is_err());
        }
    }
}
