//! Every text the user sees or hears, French first.
//!
//! The readers are pupils, their parents and grandparents, on a phone, sometimes with a screen
//! reader: short sentences, plain words, numbers that never overstate how soon they get in.
//! French typography is followed where it changes what a reader sees: a no-break space before
//! `:` and narrow no-break spaces before `!` and `%` and between thousands, so that a `:` or a
//! `%` never wraps alone onto the next line of a narrow phone screen.

use std::time::Duration;

use crate::config::LangSetting;
use crate::machine::Phase;
use crate::text::{decimal, two_digits};

/// No-break space (before `:` and between a number and its unit).
const NBSP: &str = "\u{a0}";
/// Narrow no-break space (thousands separator, before `!` and `%` in French).
const NNBSP: &str = "\u{202f}";

/// The language texts are shown in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Language {
    /// French, the default: the portals serve French schools.
    #[default]
    Fr,
    /// English.
    En,
}

impl Language {
    /// The language to use for a setting and the page's `<html lang>`: with
    /// [`LangSetting::Auto`], `en` and any `en-*` tag give English, anything else (or no tag)
    /// French.
    pub fn resolve(setting: LangSetting, page_lang: Option<&str>) -> Language {
        match setting {
            LangSetting::Fr => Language::Fr,
            LangSetting::En => Language::En,
            LangSetting::Auto => {
                let primary = page_lang.unwrap_or("").trim().split(['-', '_']).next().unwrap_or("");
                if primary.eq_ignore_ascii_case("en") {
                    Language::En
                } else {
                    Language::Fr
                }
            }
        }
    }
}

/// The quota message of the 2021 ENT page, its first sentences verbatim, ending with what the
/// widget now does instead of "come back in a few minutes" (which caused the F5 storm).
pub const QUOTA_MESSAGE_FR: &str = "À situation exceptionnelle, mesures exceptionnelles. Pour permettre à chacun d’accéder à son réseau éducatif dans de bonnes conditions, nous avons limité le temps des sessions et instauré une logique de quota. Quand le nombre d’utilisateurs maximum est atteint, il vous faut patienter pour y accéder à votre tour. Merci de garder cette page ouverte\u{a0}: elle vous laissera entrer dès que ce sera votre tour.";

/// English version of [`QUOTA_MESSAGE_FR`].
pub const QUOTA_MESSAGE_EN: &str = "Exceptional circumstances call for exceptional measures. So that everyone can reach their school network in good conditions, we have limited the length of sessions and introduced a quota. When the maximum number of users is reached, you need to wait for your turn. Please keep this page open: it will let you in as soon as it is your turn.";

/// The texts in one language, with the operator's title and message overrides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Messages {
    lang: Language,
    title: Option<String>,
    message: Option<String>,
}

impl Messages {
    /// Texts in `lang`; a non-blank `title` or `message` replaces the default one.
    pub fn new(lang: Language, title: Option<String>, message: Option<String>) -> Self {
        let non_blank = |s: Option<String>| s.filter(|s| !s.trim().is_empty());
        Messages { lang, title: non_blank(title), message: non_blank(message) }
    }

    /// The language of these texts.
    pub fn language(&self) -> Language {
        self.lang
    }

    /// BCP 47 tag for the overlay's `lang` attribute, so screen readers pick the right voice.
    pub fn lang_tag(&self) -> &'static str {
        match self.lang {
            Language::Fr => "fr",
            Language::En => "en",
        }
    }

    /// The overlay's title: the override, or "Connexion au portail" / "Signing in to the portal":
    /// neutral, since the phase line below says whether there is a queue.
    pub fn title(&self) -> &str {
        match (&self.title, self.lang) {
            (Some(title), _) => title,
            (None, Language::Fr) => "Connexion au portail",
            (None, Language::En) => "Signing in to the portal",
        }
    }

    /// The explanation under the title: the override, or the quota message.
    pub fn message(&self) -> &str {
        match (&self.message, self.lang) {
            (Some(message), _) => message,
            (None, Language::Fr) => QUOTA_MESSAGE_FR,
            (None, Language::En) => QUOTA_MESSAGE_EN,
        }
    }

    /// "Votre place dans la file : 12 345" / "Your place in the queue: 12,345".
    pub fn position(&self, position: u64) -> String {
        match self.lang {
            Language::Fr => {
                ["Votre place dans la file", NBSP, ": ", &self.number(position)].concat()
            }
            Language::En => ["Your place in the queue: ", &self.number(position)].concat(),
        }
    }

    /// How many people are ahead: "Personne devant vous", "1 personne devant vous",
    /// "2 personnes devant vous" / "Nobody ahead of you", "1 person ahead of you", "2 people ahead of you".
    pub fn ahead(&self, n: u64) -> String {
        match (self.lang, n) {
            (Language::Fr, 0) => "Personne devant vous".to_string(),
            (Language::Fr, 1) => "1 personne devant vous".to_string(),
            (Language::Fr, n) => [&self.number(n), " personnes devant vous"].concat(),
            (Language::En, 0) => "Nobody ahead of you".to_string(),
            (Language::En, 1) => "1 person ahead of you".to_string(),
            (Language::En, n) => [&self.number(n), " people ahead of you"].concat(),
        }
    }

    /// The expected wait as a range of whole minutes, `low` rounded down and `high` rounded up so
    /// that the range never promises less than the estimate: "Attente estimée : environ 3 à 5 min",
    /// "… moins d’une minute", "… environ 1 h 10 à 1 h 30", "… environ 4 min" when both ends meet.
    /// Arguments in the wrong order are swapped.
    pub fn eta(&self, low: Duration, high: Duration) -> String {
        let (low, high) = if low <= high { (low, high) } else { (high, low) };
        let (lo, hi) = (floor_minutes(low), ceil_minutes(high));
        let fr = self.lang == Language::Fr;
        let range = if high < Duration::from_secs(60) {
            if fr {
                "moins d’une minute".to_string()
            } else {
                "less than a minute".to_string()
            }
        } else if lo == 0 {
            // "about 0 to 3 min" reads oddly; "less than 3 min" says the same thing.
            let hi = self.minutes(hi);
            [if fr { "moins de " } else { "less than " }, &hi].concat()
        } else if lo == hi {
            let m = self.minutes(hi);
            [if fr { "environ " } else { "about " }, &m].concat()
        } else {
            // The unit is said once when both ends are in minutes: "3 à 5 min".
            let lo_text = if hi < 60 { self.number(lo) } else { self.minutes(lo) };
            let hi_text = self.minutes(hi);
            if fr {
                ["environ ", &lo_text, " à ", &hi_text].concat()
            } else {
                ["about ", &lo_text, " to ", &hi_text].concat()
            }
        };
        match self.lang {
            Language::Fr => ["Attente estimée", NBSP, ": ", &range].concat(),
            Language::En => ["Estimated wait: ", &range].concat(),
        }
    }

    /// Time until the next check, rounded up so it never shows 0 while still waiting:
    /// "Prochaine vérification dans 12 s", "… dans 1 min 05 s", "… dans 1 h 02 min";
    /// zero gives "Vérification en cours…" / "Checking…".
    pub fn countdown(&self, remaining: Duration) -> String {
        let secs = ceil_seconds(remaining);
        if secs == 0 {
            return match self.lang {
                Language::Fr => "Vérification en cours…".to_string(),
                Language::En => "Checking…".to_string(),
            };
        }
        let time = if secs < 60 {
            [&decimal(secs), NBSP, "s"].concat()
        } else if secs < 3600 {
            [&decimal(secs / 60), NBSP, "min", NBSP, &two_digits(secs % 60), NBSP, "s"].concat()
        } else {
            let minutes = secs.div_ceil(60);
            [&decimal(minutes / 60), NBSP, "h", NBSP, &two_digits(minutes % 60), NBSP, "min"]
                .concat()
        };
        match self.lang {
            Language::Fr => ["Prochaine vérification dans ", &time].concat(),
            Language::En => ["Next check in ", &time].concat(),
        }
    }

    /// "Dernière mise à jour à 08:02:13" / "Last updated at 08:02:13" (local time, given by the driver).
    pub fn last_update(&self, hours: u8, minutes: u8, seconds: u8) -> String {
        let two = |n: u8| two_digits(u64::from(n));
        let time = [&two(hours), ":", &two(minutes), ":", &two(seconds)].concat();
        match self.lang {
            Language::Fr => ["Dernière mise à jour à ", &time].concat(),
            Language::En => ["Last updated at ", &time].concat(),
        }
    }

    /// One short status line per phase.
    pub fn heading(&self, phase: Phase) -> &'static str {
        match self.lang {
            Language::Fr => match phase {
                Phase::Checking => "Vérification de la disponibilité…",
                Phase::Queued => "Vous êtes dans la file d’attente",
                Phase::Throttled => "Le portail est très demandé\u{a0}: nouvel essai automatique",
                Phase::Offline => "Connexion internet perdue\u{a0}: votre place est gardée",
                Phase::Closed => "Le portail est fermé pour le moment",
                Phase::Unavailable => "Le portail ne répond pas\u{a0}: nouvel essai automatique",
                Phase::CookiesRequired => "Activez les cookies pour garder votre place",
                Phase::GaveUp => "Le portail reste indisponible. Réessayez plus tard.",
                Phase::Admitted => "C’est votre tour\u{202f}! Vous pouvez vous connecter.",
            },
            Language::En => match phase {
                Phase::Checking => "Checking availability…",
                Phase::Queued => "You are in the queue",
                Phase::Throttled => "The portal is very busy: trying again automatically",
                Phase::Offline => "Internet connection lost: your place is kept",
                Phase::Closed => "The portal is closed for now",
                Phase::Unavailable => "The portal is not responding: trying again automatically",
                Phase::CookiesRequired => "Enable cookies to keep your place",
                Phase::GaveUp => "The portal is still unavailable. Please try again later.",
                Phase::Admitted => "It's your turn! You can log in now.",
            },
        }
    }

    /// The label of the "retry now" button: "Réessayer maintenant" / "Try again now".
    pub fn retry_label(&self) -> &'static str {
        match self.lang {
            Language::Fr => "Réessayer maintenant",
            Language::En => "Try again now",
        }
    }

    /// One sentence for the screen-reader live region:
    /// "Vous êtes maintenant 40e dans la file, attente estimée au plus 5 min." /
    /// "You are now number 40 in the queue, estimated wait at most 5 min."
    ///
    /// Only the pessimistic end of the ETA is spoken: a range read aloud is long and the higher
    /// number is the one to plan with. The position is not grouped, so every screen reader reads
    /// it as one number.
    pub fn announce_position(&self, position: u64, eta_high: Option<Duration>) -> String {
        let fr = self.lang == Language::Fr;
        let place = match (fr, position) {
            (true, 0) => "Vous êtes maintenant en tête de la file".to_string(),
            (true, 1) => "Vous êtes maintenant 1er dans la file".to_string(),
            (true, n) => ["Vous êtes maintenant ", &decimal(n), "e dans la file"].concat(),
            (false, 0) => "You are now at the front of the queue".to_string(),
            (false, n) => ["You are now number ", &decimal(n), " in the queue"].concat(),
        };
        match eta_high {
            None => [&place, "."].concat(),
            Some(high) => {
                // At least one minute: "at most 0 min" would promise an instant admission.
                let m = self.minutes(ceil_minutes(high).max(1));
                let middle =
                    if fr { ", attente estimée au plus " } else { ", estimated wait at most " };
                [&place, middle, &m, "."].concat()
            }
        }
    }

    /// Accessible label of the progress bar: "Progression : 40 %" / "Progress: 40%" (capped at 100).
    pub fn progress_label(&self, percent: u8) -> String {
        let percent = percent.min(100);
        match self.lang {
            Language::Fr => {
                ["Progression", NBSP, ": ", &decimal(percent.into()), NNBSP, "%"].concat()
            }
            Language::En => ["Progress: ", &decimal(percent.into()), "%"].concat(),
        }
    }

    /// `n` with thousands grouped: "12 345" (narrow no-break space) / "12,345".
    fn number(&self, n: u64) -> String {
        let separator = match self.lang {
            Language::Fr => NNBSP,
            Language::En => ",",
        };
        let digits = decimal(n);
        let mut out = String::with_capacity(digits.len() * 2);
        for (i, d) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                out.push_str(separator);
            }
            out.push(d);
        }
        out
    }

    /// "5 min", "1 h", "1 h 10" / "1 h 10 min".
    fn minutes(&self, m: u64) -> String {
        if m < 60 {
            return [&self.number(m), NBSP, "min"].concat();
        }
        let (h, rest) = (self.number(m / 60), m % 60);
        match (rest, self.lang) {
            (0, _) => [&h, NBSP, "h"].concat(),
            (rest, Language::Fr) => [&h, NBSP, "h", NBSP, &two_digits(rest)].concat(),
            (rest, Language::En) => [&h, NBSP, "h", NBSP, &decimal(rest), NBSP, "min"].concat(),
        }
    }
}

fn floor_minutes(d: Duration) -> u64 {
    d.as_secs() / 60
}

fn ceil_minutes(d: Duration) -> u64 {
    ceil_seconds(d).div_ceil(60)
}

fn ceil_seconds(d: Duration) -> u64 {
    d.as_secs().saturating_add(u64::from(d.subsec_nanos() > 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fr() -> Messages {
        Messages::new(Language::Fr, None, None)
    }
    fn en() -> Messages {
        Messages::new(Language::En, None, None)
    }
    fn min(m: u64) -> Duration {
        Duration::from_secs(m * 60)
    }
    /// Writes test expectations with plain spaces: `_` stands for a no-break space, `^` for a
    /// narrow one, so the typography is asserted without unreadable escapes.
    fn t(s: &str) -> String {
        s.replace('_', NBSP).replace('^', NNBSP)
    }

    #[test]
    fn auto_language_is_english_only_for_english_pages() {
        assert_eq!(Language::resolve(LangSetting::Auto, Some("en")), Language::En);
        assert_eq!(Language::resolve(LangSetting::Auto, Some("en-GB")), Language::En);
        assert_eq!(Language::resolve(LangSetting::Auto, Some(" EN_us ")), Language::En);
        assert_eq!(Language::resolve(LangSetting::Auto, Some("fr-FR")), Language::Fr);
        assert_eq!(Language::resolve(LangSetting::Auto, Some("de")), Language::Fr);
        assert_eq!(Language::resolve(LangSetting::Auto, Some("eng")), Language::Fr);
        assert_eq!(Language::resolve(LangSetting::Auto, Some("")), Language::Fr);
        assert_eq!(Language::resolve(LangSetting::Auto, None), Language::Fr);
        assert_eq!(Language::resolve(LangSetting::Fr, Some("en")), Language::Fr);
        assert_eq!(Language::resolve(LangSetting::En, None), Language::En);
    }

    #[test]
    fn overrides_win_and_blank_overrides_are_ignored() {
        let m = Messages::new(Language::Fr, Some("Bienvenue".into()), Some("Patientez".into()));
        assert_eq!((m.title(), m.message()), ("Bienvenue", "Patientez"));
        let m = Messages::new(Language::En, Some("  ".into()), Some(String::new()));
        assert_eq!((m.title(), m.message()), ("Signing in to the portal", QUOTA_MESSAGE_EN));
        assert_eq!(fr().title(), "Connexion au portail");
        assert_eq!(fr().message(), QUOTA_MESSAGE_FR);
        assert_eq!((fr().lang_tag(), en().lang_tag()), ("fr", "en"));
        assert_eq!(en().language(), Language::En);
    }

    #[test]
    fn quota_message_keeps_the_2021_wording_but_not_its_come_back_later_ending() {
        assert!(QUOTA_MESSAGE_FR.starts_with(
            "À situation exceptionnelle, mesures exceptionnelles. Pour permettre à chacun d’accéder à son \
             réseau éducatif dans de bonnes conditions, nous avons limité le temps des sessions et instauré une \
             logique de quota. Quand le nombre d’utilisateurs maximum est atteint, il vous faut patienter pour \
             y accéder à votre tour."
        ));
        assert!(!QUOTA_MESSAGE_FR.contains("revenez"));
        assert!(!QUOTA_MESSAGE_EN.contains("come back"));
    }

    #[test]
    fn position_groups_thousands() {
        assert_eq!(fr().position(42), t("Votre place dans la file_: 42"));
        assert_eq!(fr().position(12_345), t("Votre place dans la file_: 12^345"));
        assert_eq!(fr().position(1_234_567), t("Votre place dans la file_: 1^234^567"));
        assert_eq!(en().position(999), "Your place in the queue: 999");
        assert_eq!(en().position(12_345), "Your place in the queue: 12,345");
        assert_eq!(en().position(u64::MAX), "Your place in the queue: 18,446,744,073,709,551,615");
    }

    #[test]
    fn people_ahead_use_the_right_plural() {
        assert_eq!(fr().ahead(0), "Personne devant vous");
        assert_eq!(fr().ahead(1), "1 personne devant vous");
        assert_eq!(fr().ahead(2), "2 personnes devant vous");
        assert_eq!(fr().ahead(1_000), t("1^000 personnes devant vous"));
        assert_eq!(en().ahead(0), "Nobody ahead of you");
        assert_eq!(en().ahead(1), "1 person ahead of you");
        assert_eq!(en().ahead(2), "2 people ahead of you");
        assert_eq!(en().ahead(1_000), "1,000 people ahead of you");
    }

    #[test]
    fn eta_rounds_low_down_and_high_up() {
        let s = Duration::from_secs;
        assert_eq!(
            fr().eta(s(3 * 60 + 59), s(4 * 60 + 1)),
            t("Attente estimée_: environ 3 à 5_min")
        );
        assert_eq!(en().eta(s(3 * 60 + 59), s(4 * 60 + 1)), t("Estimated wait: about 3 to 5_min"));
        assert_eq!(fr().eta(min(3), min(5)), t("Attente estimée_: environ 3 à 5_min"));
        assert_eq!(
            fr().eta(s(4 * 60 + 30), min(5) - Duration::from_millis(1)),
            t("Attente estimée_: environ 4 à 5_min")
        );
    }

    #[test]
    fn eta_with_equal_ends_says_one_number() {
        assert_eq!(fr().eta(min(4), min(4)), t("Attente estimée_: environ 4_min"));
        assert_eq!(en().eta(min(4), min(4)), t("Estimated wait: about 4_min"));
        assert_eq!(fr().eta(min(60), min(60)), t("Attente estimée_: environ 1_h"));
    }

    #[test]
    fn eta_under_a_minute_says_so() {
        let s = Duration::from_secs;
        assert_eq!(fr().eta(Duration::ZERO, s(59)), t("Attente estimée_: moins d’une minute"));
        assert_eq!(en().eta(s(10), s(40)), "Estimated wait: less than a minute");
        assert_eq!(fr().eta(s(10), s(61)), t("Attente estimée_: moins de 2_min"));
        assert_eq!(en().eta(Duration::ZERO, min(3)), t("Estimated wait: less than 3_min"));
    }

    #[test]
    fn eta_in_hours() {
        assert_eq!(fr().eta(min(70), min(90)), t("Attente estimée_: environ 1_h_10 à 1_h_30"));
        assert_eq!(en().eta(min(70), min(90)), t("Estimated wait: about 1_h_10_min to 1_h_30_min"));
        assert_eq!(fr().eta(min(45), min(65)), t("Attente estimée_: environ 45_min à 1_h_05"));
        assert_eq!(fr().eta(min(120), min(185)), t("Attente estimée_: environ 2_h à 3_h_05"));
        assert_eq!(fr().eta(min(5), min(3)), t("Attente estimée_: environ 3 à 5_min"));
        let _ = fr().eta(Duration::MAX, Duration::MAX);
    }

    #[test]
    fn countdown_rounds_up_and_pads_seconds() {
        let ms = Duration::from_millis;
        assert_eq!(fr().countdown(ms(12_000)), t("Prochaine vérification dans 12_s"));
        assert_eq!(fr().countdown(ms(11_001)), t("Prochaine vérification dans 12_s"));
        assert_eq!(fr().countdown(ms(1)), t("Prochaine vérification dans 1_s"));
        assert_eq!(fr().countdown(ms(65_000)), t("Prochaine vérification dans 1_min_05_s"));
        assert_eq!(fr().countdown(ms(3_720_000)), t("Prochaine vérification dans 1_h_02_min"));
        assert_eq!(fr().countdown(ms(3_719_000)), t("Prochaine vérification dans 1_h_02_min"));
        assert_eq!(en().countdown(ms(12_000)), t("Next check in 12_s"));
        assert_eq!(en().countdown(ms(65_000)), t("Next check in 1_min_05_s"));
        assert_eq!(fr().countdown(Duration::ZERO), "Vérification en cours…");
        assert_eq!(en().countdown(Duration::ZERO), "Checking…");
        let _ = en().countdown(Duration::MAX);
    }

    #[test]
    fn last_update_pads_to_two_digits() {
        assert_eq!(fr().last_update(8, 2, 13), "Dernière mise à jour à 08:02:13");
        assert_eq!(en().last_update(23, 59, 0), "Last updated at 23:59:00");
    }

    #[test]
    fn headings_read_as_plain_sentences() {
        assert_eq!(fr().heading(Phase::Checking), "Vérification de la disponibilité…");
        assert_eq!(fr().heading(Phase::Queued), "Vous êtes dans la file d’attente");
        assert_eq!(
            fr().heading(Phase::Throttled),
            t("Le portail est très demandé_: nouvel essai automatique")
        );
        assert_eq!(
            fr().heading(Phase::Offline),
            t("Connexion internet perdue_: votre place est gardée")
        );
        assert_eq!(fr().heading(Phase::Closed), "Le portail est fermé pour le moment");
        assert_eq!(
            fr().heading(Phase::Unavailable),
            t("Le portail ne répond pas_: nouvel essai automatique")
        );
        assert_eq!(
            fr().heading(Phase::GaveUp),
            "Le portail reste indisponible. Réessayez plus tard."
        );
        assert_eq!(
            fr().heading(Phase::Admitted),
            t("C’est votre tour^! Vous pouvez vous connecter.")
        );
        assert_eq!(en().heading(Phase::Admitted), "It's your turn! You can log in now.");
        assert_eq!(fr().retry_label(), "Réessayer maintenant");
        assert_eq!(en().retry_label(), "Try again now");
        for phase in Phase::ALL {
            assert_ne!(fr().heading(phase), en().heading(phase));
        }
    }

    #[test]
    fn announcement_uses_ordinals_and_the_pessimistic_end() {
        assert_eq!(
            fr().announce_position(40, Some(Duration::from_secs(4 * 60 + 1))),
            t("Vous êtes maintenant 40e dans la file, attente estimée au plus 5_min.")
        );
        assert_eq!(fr().announce_position(1, None), "Vous êtes maintenant 1er dans la file.");
        assert_eq!(fr().announce_position(2, None), "Vous êtes maintenant 2e dans la file.");
        assert_eq!(
            fr().announce_position(12_345, None),
            "Vous êtes maintenant 12345e dans la file."
        );
        assert_eq!(
            en().announce_position(40, Some(min(5))),
            t("You are now number 40 in the queue, estimated wait at most 5_min.")
        );
        assert_eq!(
            en().announce_position(3, Some(Duration::ZERO)),
            t("You are now number 3 in the queue, estimated wait at most 1_min.")
        );
        assert_eq!(
            fr().announce_position(500, Some(min(90))),
            t("Vous êtes maintenant 500e dans la file, attente estimée au plus 1_h_30.")
        );
        assert_eq!(fr().announce_position(0, None), "Vous êtes maintenant en tête de la file.");
    }

    #[test]
    fn progress_label_uses_french_spacing_and_caps_at_100() {
        assert_eq!(fr().progress_label(40), t("Progression_: 40^%"));
        assert_eq!(en().progress_label(40), "Progress: 40%");
        assert_eq!(en().progress_label(250), "Progress: 100%");
    }

    /// Every French output for a spread of inputs.
    fn all_french_outputs() -> Vec<String> {
        let m = fr();
        let mut out =
            vec![m.title().to_string(), m.message().to_string(), m.retry_label().to_string()];
        for phase in Phase::ALL {
            out.push(m.heading(phase).to_string());
        }
        for n in [0, 1, 2, 40, 12_345] {
            out.push(m.position(n));
            out.push(m.ahead(n));
            out.push(m.announce_position(n, Some(min(n % 200))));
            out.push(m.announce_position(n, None));
            out.push(m.countdown(Duration::from_secs(n)));
            out.push(m.eta(min(n / 2), min(n)));
        }
        out.push(m.last_update(8, 2, 13));
        out.push(m.progress_label(40));
        out
    }

    #[test]
    fn french_outputs_contain_no_english_words() {
        const ENGLISH: &[&str] = &[
            "the",
            "you",
            "your",
            "queue",
            "wait",
            "waiting",
            "check",
            "checking",
            "next",
            "ahead",
            "people",
            "person",
            "nobody",
            "less",
            "than",
            "about",
            "minutes",
            "at",
            "most",
            "now",
            "try",
            "again",
            "progress",
            "estimated",
            "last",
            "updated",
            "portal",
            "busy",
            "closed",
            "turn",
            "log",
            "in",
            "is",
            "are",
            "number",
            "of",
            "to",
            "please",
        ];
        for text in all_french_outputs() {
            for word in text.split(|c: char| !c.is_alphabetic()) {
                // Words spelled alike in both languages ("minute", "place", "session") are left out.
                let lower = word.to_lowercase();
                assert!(!ENGLISH.contains(&lower.as_str()), "English word {word:?} in {text:?}");
            }
        }
    }

    #[test]
    fn french_outputs_never_break_before_punctuation() {
        for text in all_french_outputs() {
            for bad in [" :", " !", " ?", " %", " ;"] {
                assert!(!text.contains(bad), "breakable space before punctuation in {text:?}");
            }
        }
    }
}
