//! The client behaviours compared, and the server each one talks to.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// A way of waiting for a full portal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Strategy {
    /// People pressing F5 every 5 to 30 s (uniformly at random) on a plain "503 when full"
    /// quota page: no ticket, no place.
    NaiveReload,
    /// A page refreshing every 20 s with a ticket that keeps the place: Cloudflare Waiting
    /// Room's default.
    Refresh20s,
    /// Polling every 3 s with a ticket: the AWS Virtual Waiting Room sample.
    Poll3s,
    /// Exponential backoff with full jitter, base 1 s, cap 20 s, against a plain 503: the AWS
    /// SDKs' standard retry mode, without its attempt limit (people do not give up after three).
    BackoffFullJitter,
    /// Decorrelated jitter (Brooker 2015), base 1 s, cap 20 s, against a plain 503.
    DecorrelatedJitter,
    /// The waitroom state machine, `data-protocol="http"`, against a plain 503 that sends
    /// `Retry-After: 20` (nginx `limit_req` with an error page, the quota page of 2021).
    WaitroomHttp,
    /// The waitroom state machine, native protocol, against the reference gate's queue: one
    /// request to get a place and a time to come back, one to come in.
    WaitroomNative,
    /// [`Strategy::WaitroomNative`] while one address floods the gate with fresh requests
    /// (1 000 a second through the arrival window, never coming back): what the gate's cap on
    /// places per address leaves of the pupils' waits.
    WaitroomNativeFlood,
    /// [`Strategy::WaitroomNative`] with the gate's proof of work on (`auto`) and widgets that
    /// solve it, while a /16 of addresses floods the gate with fresh requests (1 000 a second
    /// through the arrival window, each from the next address, never solving, never coming
    /// back): what the challenge leaves of the pupils' waits when a cap per address cannot.
    WaitroomNativePowFlood,
}

/// Which server a strategy talks to. Both are the gate's [`waitroom_gate::queue::Queue`]: the
/// plain one only uses its token bucket ([`waitroom_gate::queue::Queue::admit_anonymous`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Server {
    /// `200` if a token is available, else `503`, with this `Retry-After` (seconds) if any.
    Plain {
        /// The `Retry-After` header of the 503, in seconds.
        retry_after_s: Option<u32>,
    },
    /// The gate's FIFO queue with tickets and server-guided return.
    Queue,
}

/// How a client decides when to come back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Client {
    /// After a uniformly random delay in `[min, max]`, from when the reply arrived.
    Reload {
        /// Shortest delay.
        min: Duration,
        /// Longest delay.
        max: Duration,
    },
    /// After a fixed period from when the reply arrived, sending its ticket.
    Poll {
        /// The period.
        period: Duration,
    },
    /// After the next delay of the core's [`waitroom::backoff::Backoff`].
    Backoff {
        /// Its jitter kind.
        jitter: waitroom::backoff::Jitter,
        /// Its base.
        base: Duration,
        /// Its cap.
        cap: Duration,
    },
    /// Driven by the core's [`waitroom::machine::Machine`], as in the browser.
    Machine {
        /// `data-protocol`.
        protocol: waitroom::config::Protocol,
    },
}

impl Strategy {
    /// Every strategy, in the order of the report.
    pub const ALL: [Strategy; 9] = [
        Strategy::NaiveReload,
        Strategy::Refresh20s,
        Strategy::Poll3s,
        Strategy::BackoffFullJitter,
        Strategy::DecorrelatedJitter,
        Strategy::WaitroomHttp,
        Strategy::WaitroomNative,
        Strategy::WaitroomNativeFlood,
        Strategy::WaitroomNativePowFlood,
    ];

    /// Its name on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Strategy::NaiveReload => "naive-reload",
            Strategy::Refresh20s => "refresh-20s",
            Strategy::Poll3s => "poll-3s",
            Strategy::BackoffFullJitter => "backoff-full-jitter",
            Strategy::DecorrelatedJitter => "decorrelated-jitter",
            Strategy::WaitroomHttp => "waitroom-http",
            Strategy::WaitroomNative => "waitroom-native",
            Strategy::WaitroomNativeFlood => "waitroom-native-flood",
            Strategy::WaitroomNativePowFlood => "waitroom-native-pow-flood",
        }
    }

    /// The client side.
    pub fn client(self) -> Client {
        use waitroom::backoff::Jitter;
        use waitroom::config::Protocol;
        let backoff = |jitter| Client::Backoff {
            jitter,
            base: Duration::from_secs(1),
            cap: Duration::from_secs(20),
        };
        match self {
            Strategy::NaiveReload => {
                Client::Reload { min: Duration::from_secs(5), max: Duration::from_secs(30) }
            }
            Strategy::Refresh20s => Client::Poll { period: Duration::from_secs(20) },
            Strategy::Poll3s => Client::Poll { period: Duration::from_secs(3) },
            Strategy::BackoffFullJitter => backoff(Jitter::Full),
            Strategy::DecorrelatedJitter => backoff(Jitter::Decorrelated),
            Strategy::WaitroomHttp => Client::Machine { protocol: Protocol::Http },
            Strategy::WaitroomNative
            | Strategy::WaitroomNativeFlood
            | Strategy::WaitroomNativePowFlood => Client::Machine { protocol: Protocol::Native },
        }
    }

    /// The server side.
    pub fn server(self) -> Server {
        match self {
            Strategy::Refresh20s
            | Strategy::Poll3s
            | Strategy::WaitroomNative
            | Strategy::WaitroomNativeFlood
            | Strategy::WaitroomNativePowFlood => Server::Queue,
            Strategy::WaitroomHttp => Server::Plain { retry_after_s: Some(20) },
            Strategy::NaiveReload | Strategy::BackoffFullJitter | Strategy::DecorrelatedJitter => {
                Server::Plain { retry_after_s: None }
            }
        }
    }

    /// A rough relative cost, to start the longest runs first.
    pub(crate) fn cost_rank(self) -> u8 {
        match self {
            Strategy::Poll3s => 0,
            Strategy::NaiveReload | Strategy::BackoffFullJitter | Strategy::DecorrelatedJitter => 1,
            Strategy::Refresh20s => 2,
            Strategy::WaitroomHttp
            | Strategy::WaitroomNative
            | Strategy::WaitroomNativeFlood
            | Strategy::WaitroomNativePowFlood => 3,
        }
    }
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An unknown strategy name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownStrategy(pub String);

impl fmt::Display for UnknownStrategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = Strategy::ALL.iter().map(|s| s.name()).collect();
        write!(f, "unknown strategy `{}`; expected one of: {}", self.0, names.join(", "))
    }
}

impl std::error::Error for UnknownStrategy {}

impl FromStr for Strategy {
    type Err = UnknownStrategy;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        Strategy::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| UnknownStrategy(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for s in Strategy::ALL {
            assert_eq!(s.name().parse::<Strategy>(), Ok(s));
        }
        assert!("f5".parse::<Strategy>().unwrap_err().to_string().contains("waitroom-native"));
    }
}
