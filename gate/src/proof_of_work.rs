//! Adaptive proof of work: a cost for bots from many addresses, paid only during a flood.
//!
//! # When
//!
//! The gate counts **join attempts**: requests that would take a new place and carry no valid
//! solution (those are counted when their challenge was asked for). While the attempts of the
//! last minute exceed both [`FLOOD_MULTIPLE`] times the admission rate and an absolute floor
//! ([`DEFAULT_FLOOR_PER_MINUTE`], `--proof-of-work-floor`), a newcomer without a valid
//! solution gets a challenge instead of a place. Holders of a place are never asked: a queue
//! that is merely long costs nobody anything. A flood is large: a gate admitting 2 a minute
//! never challenges its third visitor, nor its 3 000th within a minute.
//!
//! # How hard
//!
//! ALTCHA's scheme, not Anubis's: the gate picks a secret number `n` in `0..=max_number` and
//! gives the SHA-256 of the challenge string followed by `n` in decimal; the browser tries
//! numbers from 0 until it finds it. The work is uniform over the range: **half of it on
//! average, never more than all of it**. A leading-zero target (Anubis, Hashcash) has the
//! same mean but a geometric tail: one pupil in a hundred would search 4.6 times the mean, and
//! no bound exists at all. Here the unluckiest pupil waits twice the median.
//!
//! [`BASE_MAX_NUMBER`] is 180 000: a median of 90 000 hashes, about 1 s on a low-end phone
//! (ALTCHA measures about 90 000 SHA-256 a second on a Galaxy A14 in Chrome), 2 s at worst.
//! Each doubling of the flood above the threshold doubles it, up to [`MAX_LEVEL`] doublings
//! (8 s median, 16 s at worst on that phone): never more, and no time limit on the pupil but
//! the challenge's expiry of [`CHALLENGE_TTL`].
//!
//! # Stateless, bound, single-use
//!
//! ```text
//! c1.<id>.<expires_s>.<max_number>.<binding>.<mac>
//! ```
//!
//! signed like tickets ([`crate::token`]): HMAC-SHA256 of everything before the last dot,
//! under the gate's secret, so another kind of token cannot pass for a challenge. The secret
//! number is derived from the same key (`HMAC("pow-answer:" ‖ signed part)`), so the gate
//! keeps nothing per challenge and checks a solution with two MACs. `<binding>` is the
//! browser's `waitroom_id` binding: a solution is worth a place only in the browser that was
//! challenged. Its id is spent once ([`crate::spent::SpendOnce`]), so a solution admits one
//! place, not one per replay.

use std::fmt;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use waitroom::time::Timestamp;

use crate::token::{parse_decimal, Binding, Signer};

/// Below this many join attempts a minute, no challenge, whatever the admission rate.
pub const DEFAULT_FLOOR_PER_MINUTE: u64 = 3_000;
/// Join attempts above this many times the admission rate (and the floor) are a flood.
pub const FLOOD_MULTIPLE: f64 = 10.0;
/// The largest number of the easiest challenge: about 1 s median on a low-end phone.
pub const BASE_MAX_NUMBER: u64 = 180_000;
/// Doublings of the difficulty at most: 2^3 × [`BASE_MAX_NUMBER`] = 1 440 000.
pub const MAX_LEVEL: u32 = 3;
/// How long a challenge stays valid: far longer than the slowest phone needs at the
/// highest difficulty (16 s), so that no pupil is ever timed out.
pub const CHALLENGE_TTL: Duration = Duration::from_secs(600);
/// How soon a challenged browser may ask again: solving counts towards it.
pub const CHALLENGE_RETRY: Duration = Duration::from_secs(1);
/// Kind prefix of a challenge.
const CHALLENGE_KIND: &str = "c1";
/// Domain separation of the secret number from every MAC a token carries.
const ANSWER_PREFIX: &[u8] = b"pow-answer:";
/// Longer strings are refused before any parsing (a real challenge is under 110 bytes).
const MAX_CHALLENGE_LEN: usize = 256;
/// The sliding minute of join attempts, in buckets of 5 s.
const BUCKETS: usize = 12;
const BUCKET_MS: u64 = 5_000;

/// Whether the gate may ask for a proof of work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Only during a flood (see the module's docs).
    Auto,
    /// Never: for tests and small portals that are not about it.
    Off,
}

/// When and how the gate asks for a proof of work.
///
/// # Default
///
/// [`Mode::Auto`], a floor of [`DEFAULT_FLOOR_PER_MINUTE`] join attempts a minute.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PowConfig {
    /// `--proof-of-work`.
    pub mode: Mode,
    /// `--proof-of-work-floor`: join attempts a minute below which no challenge is asked.
    pub floor_per_minute: u64,
}

impl Default for PowConfig {
    fn default() -> Self {
        PowConfig { mode: Mode::Auto, floor_per_minute: DEFAULT_FLOOR_PER_MINUTE }
    }
}

impl PowConfig {
    /// The largest number of the challenge to ask for, with `attempts_per_minute` join
    /// attempts in the last minute at `admit_per_minute` admissions; `None`: no challenge.
    ///
    /// ```
    /// use waitroom_gate::proof_of_work::{PowConfig, BASE_MAX_NUMBER};
    /// let auto = PowConfig::default();
    /// // Admitting 2 a minute, 3 000 newcomers a minute are no flood: the floor.
    /// assert_eq!(auto.difficulty(3_000, 2.0), None);
    /// assert_eq!(auto.difficulty(3_001, 2.0), Some(BASE_MAX_NUMBER));
    /// // Admitting 2 000 a minute, a flood starts above 20 000; twice that doubles the work.
    /// assert_eq!(auto.difficulty(20_000, 2_000.0), None);
    /// assert_eq!(auto.difficulty(40_000, 2_000.0), Some(2 * BASE_MAX_NUMBER));
    /// assert_eq!(auto.difficulty(u64::MAX, 2_000.0), Some(8 * BASE_MAX_NUMBER));
    /// ```
    pub fn difficulty(&self, attempts_per_minute: u64, admit_per_minute: f64) -> Option<u64> {
        if self.mode == Mode::Off {
            return None;
        }
        let threshold = (FLOOD_MULTIPLE * admit_per_minute).max(self.floor_per_minute as f64);
        let flood = attempts_per_minute as f64 / threshold.max(1.0);
        if flood <= 1.0 || !flood.is_finite() {
            return None;
        }
        let level = (flood.log2().floor() as u32).min(MAX_LEVEL);
        Some(BASE_MAX_NUMBER << level)
    }
}

/// Join attempts over the last minute, in buckets of 5 s: a flood is seen within a request,
/// and forgotten a minute after it stops.
#[derive(Debug, Clone, Default)]
pub struct JoinRate {
    counts: [u64; BUCKETS],
    /// The bucket `counts` ends with, in 5-s steps since the epoch.
    newest: u64,
}

impl JoinRate {
    /// Counts one join attempt at `now`.
    pub fn count(&mut self, now: Timestamp) {
        let bucket = self.advance(now);
        self.counts[bucket] = self.counts[bucket].saturating_add(1);
    }

    /// Join attempts within the minute before `now` (five seconds' resolution).
    pub fn per_minute(&mut self, now: Timestamp) -> u64 {
        self.advance(now);
        self.counts.iter().sum()
    }

    /// Moves the window to `now`, emptying the buckets it leaves; the index of `now`'s bucket.
    fn advance(&mut self, now: Timestamp) -> usize {
        let step = now.as_millis() / BUCKET_MS;
        if step > self.newest {
            let gone = (step - self.newest).min(BUCKETS as u64);
            for k in 1..=gone {
                self.counts[((self.newest + k) % BUCKETS as u64) as usize] = 0;
            }
            self.newest = step;
        }
        // A clock that steps back counts in the newest bucket.
        (self.newest % BUCKETS as u64) as usize
    }
}

/// What a verified challenge says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChallengeClaims {
    /// Its identifier, spent once.
    pub id: u64,
    /// When it stops being valid (whole seconds).
    pub expires: Timestamp,
    /// Its difficulty.
    pub max_number: u64,
}

/// Why a solution was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SolutionError {
    /// Not a challenge of ours, or a solution that is not a number.
    Malformed,
    /// The signature does not match.
    BadSignature,
    /// Past its expiry.
    Expired,
    /// Given to another browser (or this one without its cookie).
    OtherBrowser,
    /// Not the number.
    Wrong,
    /// Solved and used already.
    Replayed,
}

impl SolutionError {
    /// A stable name, for logs and metrics.
    pub fn code(self) -> &'static str {
        match self {
            SolutionError::Malformed => "malformed",
            SolutionError::BadSignature => "bad_signature",
            SolutionError::Expired => "expired",
            SolutionError::OtherBrowser => "other_browser",
            SolutionError::Wrong => "wrong",
            SolutionError::Replayed => "replayed",
        }
    }
}

impl fmt::Display for SolutionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl std::error::Error for SolutionError {}

/// A challenge as the gate sends it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedChallenge {
    /// The signed string.
    pub challenge: String,
    /// The SHA-256 of `challenge` followed by the secret number, in lower-case hexadecimal.
    pub target: String,
    /// The largest number to try.
    pub max_number: u64,
}

/// Signs challenge `id` for the browser bound to `binding`, valid until `expires`, with
/// numbers up to `max_number`.
pub fn issue(
    signer: &Signer,
    id: u64,
    expires: Timestamp,
    max_number: u64,
    binding: Binding,
) -> IssuedChallenge {
    let expires_s = expires.as_millis().div_ceil(1000);
    let mut challenge = format!("{CHALLENGE_KIND}.{id}.{expires_s}.{max_number}.");
    URL_SAFE_NO_PAD.encode_string(binding.0, &mut challenge);
    let mac = signer.mac_of(&[challenge.as_bytes()]);
    let number = secret_number(signer, &challenge, max_number);
    challenge.push('.');
    URL_SAFE_NO_PAD.encode_string(mac, &mut challenge);
    let target = hex(&digest(&challenge, number));
    IssuedChallenge { challenge, target, max_number }
}

/// Checks `solution` to `challenge` for the browser bound to `binding` at `now`: shape,
/// signature, expiry, browser, then the number. Spending it is the caller's
/// ([`crate::spent::SpendOnce`]), with the claims' id and expiry.
pub fn verify(
    signer: &Signer,
    challenge: &str,
    solution: &str,
    binding: Binding,
    now: Timestamp,
) -> Result<ChallengeClaims, SolutionError> {
    if challenge.len() > MAX_CHALLENGE_LEN {
        return Err(SolutionError::Malformed);
    }
    let (signed, mac_b64) = challenge.rsplit_once('.').ok_or(SolutionError::Malformed)?;
    let mut fields = signed.split('.');
    if fields.next() != Some(CHALLENGE_KIND) {
        return Err(SolutionError::Malformed);
    }
    let mut decimal = || fields.next().ok_or(SolutionError::Malformed).and_then(number);
    let id = decimal()?;
    let expires_s = decimal()?;
    let max_number = decimal()?;
    let bound = fields.next().ok_or(SolutionError::Malformed)?;
    if fields.next().is_some() {
        return Err(SolutionError::Malformed);
    }
    let bound = URL_SAFE_NO_PAD.decode(bound).map_err(|_| SolutionError::Malformed)?;
    let tag = URL_SAFE_NO_PAD.decode(mac_b64).map_err(|_| SolutionError::Malformed)?;
    let solution = number(solution)?;
    let mac = signer.mac_of(&[signed.as_bytes()]);
    // Constant time: a refusal's timing says nothing about the right tag.
    if !bool::from(mac.as_slice().ct_eq(&tag)) {
        return Err(SolutionError::BadSignature);
    }
    let expires = Timestamp::from_millis(expires_s.saturating_mul(1000));
    if now >= expires {
        return Err(SolutionError::Expired);
    }
    if !bool::from(bound.as_slice().ct_eq(&binding.0)) {
        return Err(SolutionError::OtherBrowser);
    }
    if solution > max_number || solution != secret_number(signer, signed, max_number) {
        return Err(SolutionError::Wrong);
    }
    Ok(ChallengeClaims { id, expires, max_number })
}

/// Searches `0..=max_number` for the number whose digest with `challenge` is `target`, as the
/// widget does: for tests, the simulator and the load test's bots.
pub fn solve(challenge: &str, target: &str, max_number: u64) -> Option<u64> {
    if target.len() != 64 || !target.is_ascii() {
        return None;
    }
    let want: Vec<u8> = (0..32)
        .map(|i| u8::from_str_radix(&target[2 * i..2 * i + 2], 16))
        .collect::<Result<_, _>>()
        .ok()?;
    let prefix = Sha256::new_with_prefix(challenge.as_bytes());
    let mut digits = [0u8; 20];
    (0..=max_number).find(|&n| {
        let hash = prefix.clone().chain_update(decimal(n, &mut digits)).finalize();
        hash.as_slice() == want.as_slice()
    })
}

/// The number hidden in `challenge`, issued by a gate whose secret is `secret`, found without
/// the search: for simulators and tests that charge a pupil the search's time (it tries
/// `0..=n`, so `n + 1` hashes) rather than spend it. `None` if `challenge` is not one of ours
/// in shape or signature.
pub fn number_of(secret: &[u8], challenge: &str) -> Option<u64> {
    let signer = Signer::new(secret);
    let (signed, mac_b64) = challenge.rsplit_once('.')?;
    let max_number = number(signed.split('.').nth(3)?).ok()?;
    let tag = URL_SAFE_NO_PAD.decode(mac_b64).ok()?;
    let mac = signer.mac_of(&[signed.as_bytes()]);
    bool::from(mac.as_slice().ct_eq(&tag)).then(|| secret_number(&signer, signed, max_number))
}

/// `n` in decimal, written at the end of `buffer`.
fn decimal(mut n: u64, buffer: &mut [u8; 20]) -> &[u8] {
    let mut start = buffer.len();
    loop {
        start -= 1;
        buffer[start] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &buffer[start..];
        }
    }
}

/// The number of the challenge whose signed part is `signed`, known only to the key.
fn secret_number(signer: &Signer, signed: &str, max_number: u64) -> u64 {
    let mac = signer.mac_of(&[ANSWER_PREFIX, signed.as_bytes()]);
    let mut first = [0u8; 8];
    first.copy_from_slice(&mac[..8]);
    // A bias of at most max_number / 2^64: none worth a hash.
    u64::from_be_bytes(first) % max_number.saturating_add(1)
}

fn number(field: &str) -> Result<u64, SolutionError> {
    parse_decimal(field).map_err(|_| SolutionError::Malformed)
}

fn digest(challenge: &str, n: u64) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(challenge.as_bytes());
    hasher.update(n.to_string().as_bytes());
    hasher.finalize().into()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::browser::BrowserId;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";
    const NOW: Timestamp = Timestamp::from_millis(1_700_000_000_000);

    fn bound(n: u8) -> Binding {
        Signer::new(SECRET).binding(&BrowserId::from_bytes([n; 16]))
    }

    fn expiry() -> Timestamp {
        NOW.saturating_add(CHALLENGE_TTL)
    }

    #[test]
    fn the_solution_found_by_searching_verifies_and_nothing_else_does() {
        let signer = Signer::new(SECRET);
        let issued = issue(&signer, 42, expiry(), 1_000, bound(1));
        assert!(issued.challenge.starts_with("c1.42.1700000600.1000."), "{}", issued.challenge);
        assert!(issued.challenge.len() < 110, "{} bytes", issued.challenge.len());
        assert_eq!(issued.target.len(), 64);
        let n = solve(&issued.challenge, &issued.target, 1_000).expect("a number in range");
        let claims = verify(&signer, &issued.challenge, &n.to_string(), bound(1), NOW).unwrap();
        assert_eq!(claims, ChallengeClaims { id: 42, expires: expiry(), max_number: 1_000 });
        // Exactly one number of the range solves it.
        let wrong = (0..=1_000u64).filter(|&m| m != n).map(|m| m.to_string());
        for m in wrong {
            let refused = verify(&signer, &issued.challenge, &m, bound(1), NOW);
            assert_eq!(refused, Err(SolutionError::Wrong), "{m}");
        }
    }

    #[test]
    fn the_number_a_simulator_reads_is_the_one_the_search_finds_and_only_with_the_key() {
        let signer = Signer::new(SECRET);
        for id in 0..20 {
            let issued = issue(&signer, id, expiry(), 5_000, bound(1));
            let found = solve(&issued.challenge, &issued.target, 5_000);
            assert_eq!(number_of(SECRET, &issued.challenge), found, "{id}");
        }
        let issued = issue(&signer, 1, expiry(), 5_000, bound(1));
        assert_eq!(number_of(b"another key, another gate........", &issued.challenge), None);
        assert_eq!(number_of(SECRET, "c1.1.2.3"), None);
        let forged = issued.challenge.replacen(".5000.", ".5001.", 1);
        assert_eq!(number_of(SECRET, &forged), None);
    }

    #[test]
    fn a_solution_is_refused_expired_in_another_browser_or_with_another_key() {
        let signer = Signer::new(SECRET);
        let issued = issue(&signer, 1, expiry(), 100, bound(1));
        let n = solve(&issued.challenge, &issued.target, 100).unwrap().to_string();
        assert_eq!(
            verify(&signer, &issued.challenge, &n, bound(1), expiry()),
            Err(SolutionError::Expired)
        );
        assert_eq!(
            verify(&signer, &issued.challenge, &n, bound(2), NOW),
            Err(SolutionError::OtherBrowser)
        );
        let other = Signer::new(b"another secret, also 32 bytes long");
        assert_eq!(
            verify(&other, &issued.challenge, &n, bound(1), NOW),
            Err(SolutionError::BadSignature)
        );
    }

    #[test]
    fn an_easier_or_longer_lived_challenge_cannot_be_forged() {
        let signer = Signer::new(SECRET);
        let issued = issue(&signer, 1, expiry(), 1_000_000, bound(1));
        let easier = issued.challenge.replacen(".1000000.", ".1.", 1);
        assert_eq!(verify(&signer, &easier, "0", bound(1), NOW), Err(SolutionError::BadSignature));
        assert_eq!(verify(&signer, &easier, "1", bound(1), NOW), Err(SolutionError::BadSignature));
        let later = issued.challenge.replacen(".1700000600.", ".1800000000.", 1);
        assert_eq!(verify(&signer, &later, "0", bound(1), NOW), Err(SolutionError::BadSignature));
        // Nor a ticket or a pass signed by the same key presented as one.
        let ticket = signer.sign_ticket(1, NOW, expiry(), NOW, bound(1));
        assert_eq!(verify(&signer, &ticket, "0", bound(1), NOW), Err(SolutionError::Malformed));
    }

    #[test]
    fn malformed_challenges_and_solutions_are_refused() {
        let signer = Signer::new(SECRET);
        let issued = issue(&signer, 1, expiry(), 10, bound(1));
        for solution in ["", "-1", "01", "1.0", "x", "99999999999999999999999"] {
            assert_eq!(
                verify(&signer, &issued.challenge, solution, bound(1), NOW),
                Err(SolutionError::Malformed),
                "{solution:?}"
            );
        }
        for challenge in ["", ".", "c1", "c1.1.2.3.AA", &"c".repeat(10_000), "c1.1.2.3.AA.BB.CC"] {
            assert_eq!(
                verify(&signer, challenge, "1", bound(1), NOW),
                Err(SolutionError::Malformed),
                "{challenge:?}"
            );
        }
        // A number past the range, even one that happens to be the secret plus the range.
        assert_eq!(
            verify(&signer, &issued.challenge, "11", bound(1), NOW),
            Err(SolutionError::Wrong)
        );
    }

    #[test]
    fn secret_numbers_spread_over_the_whole_range() {
        let signer = Signer::new(SECRET);
        let numbers: Vec<u64> = (0..2_000)
            .map(|id| {
                let issued = issue(&signer, id, expiry(), 999, bound(1));
                secret_number(&signer, issued.challenge.rsplit_once('.').unwrap().0, 999)
            })
            .collect();
        let mean = numbers.iter().sum::<u64>() as f64 / numbers.len() as f64;
        assert!((450.0..550.0).contains(&mean), "mean {mean}");
        assert!(numbers.iter().all(|&n| n <= 999));
        assert!(numbers.iter().any(|&n| n < 50) && numbers.iter().any(|&n| n > 950));
    }

    #[test]
    fn the_join_rate_sees_a_flood_at_once_and_forgets_it_a_minute_after() {
        let mut rate = JoinRate::default();
        let at = |ms: u64| Timestamp::from_millis(NOW.as_millis() + ms);
        for k in 0..6_000 {
            rate.count(at(k * 10)); // 100 a second for 60 s
        }
        assert_eq!(rate.per_minute(at(59_990)), 6_000);
        // The first 5 s leave the window.
        assert_eq!(rate.per_minute(at(60_000)), 5_500);
        assert_eq!(rate.per_minute(at(125_000)), 0);
        // The clock stepping back counts in the newest bucket rather than panicking.
        rate.count(at(0));
        assert_eq!(rate.per_minute(at(125_000)), 1);
    }

    #[test]
    fn difficulty_follows_the_flood_not_the_floor_and_never_the_rate_alone() {
        let off = PowConfig { mode: Mode::Off, ..PowConfig::default() };
        assert_eq!(off.difficulty(u64::MAX, 1.0), None);
        let auto = PowConfig::default();
        let levels: Vec<Option<u64>> = [0, 3_000, 3_001, 5_999, 6_000, 12_000, 24_000, 10_000_000]
            .iter()
            .map(|&per_minute| auto.difficulty(per_minute, 2.0))
            .collect();
        assert_eq!(
            levels,
            [
                None,
                None,
                Some(180_000),
                Some(180_000),
                Some(360_000),
                Some(720_000),
                Some(1_440_000),
                Some(1_440_000)
            ]
        );
    }
}
